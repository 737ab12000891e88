//! The Lua scripts that make each operation one atomic round trip (`EVALSHA`, loaded on first
//! use). Each is `lua/prelude.lua` followed by its own file.

use std::sync::LazyLock;

use redis::Script;

/// One script per operation that reads and writes more than one key.
pub(super) struct Scripts {
    pub(super) claim: Script,
    pub(super) renew: Script,
    pub(super) complete: Script,
    pub(super) store_request: Script,
    pub(super) list: Script,
    pub(super) purge: Script,
}

macro_rules! script {
    ($file:literal) => {
        Script::new(concat!(
            include_str!("lua/prelude.lua"),
            "\n",
            include_str!(concat!("lua/", $file))
        ))
    };
}

/// The scripts, their SHA-1 digests computed once.
pub(super) static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    claim: script!("claim.lua"),
    renew: script!("renew.lua"),
    complete: script!("complete.lua"),
    store_request: script!("store_request.lua"),
    list: script!("list.lua"),
    purge: script!("purge.lua"),
});
