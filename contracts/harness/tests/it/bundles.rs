//! The shipped contract code: what pallet-contracts accepts, and upgrades in place.

use contract_harness::{
    bundles_dir,
    market::{Market, Settings},
    market_types::Error,
    Bundle,
};
use wasmparser::{Validator, WasmFeatures};

/// pallet-contracts' `MaxCodeLen` in substrate-contracts-node 0.42's runtime
/// (runtime/src/contracts_config.rs: `type MaxCodeLen = ConstU32<{ 256 * 1024 }>;`).
const NODE_MAX_CODE_LEN: usize = 256 * 1024;

#[test]
fn every_wasm_is_mvp_plus_sign_extension_and_fits_the_node() {
    // MVP with mutable globals, plus sign extension; no floats (pallet-contracts refuses
    // them in deterministic code), no bulk memory, no reference types.
    let features = WasmFeatures::MUTABLE_GLOBAL | WasmFeatures::SIGN_EXTENSION;
    for name in ["marketplace", "token"] {
        let path = bundles_dir().join(format!("{name}.wasm"));
        let wasm = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run scripts/build-contracts", path.display()));
        Validator::new_with_features(features)
            .validate_all(&wasm)
            .unwrap_or_else(|e| panic!("{name}.wasm uses a feature pallet-contracts refuses: {e}"));
        assert!(
            wasm.len() < NODE_MAX_CODE_LEN,
            "{name}.wasm is {} bytes, over the node's {NODE_MAX_CODE_LEN}",
            wasm.len()
        );
        // The bundle carries the same code.
        assert_eq!(
            Bundle::load(name).unwrap().wasm,
            wasm,
            "{name}.contract is stale"
        );
    }
}

#[test]
fn a_wasm_with_bulk_memory_is_refused_by_the_check() {
    // memory.fill (bulk memory) in an otherwise minimal module: the check above must fail
    // on it, or it proves nothing.
    let wasm = wat::parse_str(
        r#"(module (memory 1) (func (i32.const 0) (i32.const 0) (i32.const 1) (memory.fill)))"#,
    )
    .unwrap();
    let features = WasmFeatures::MUTABLE_GLOBAL | WasmFeatures::SIGN_EXTENSION;
    assert!(Validator::new_with_features(features)
        .validate_all(&wasm)
        .is_err());
    assert!(Validator::new().validate_all(&wasm).is_ok());
}

#[test]
fn the_admin_upgrades_the_code_in_place_and_state_survives() {
    let mut m = Market::deploy(&Settings::default()).unwrap();
    let admin = m.admin.clone();
    let before = m.config();
    let bundle = Bundle::load("marketplace").unwrap();
    let code_hash = m.chain.upload(&bundle, &admin).unwrap();
    let stranger = m.chain.account("stranger");
    let refused = m.call::<()>(&stranger, "set_code", &code_hash, 0).unwrap();
    assert_eq!(refused.value, Err(Error::NotAdmin));
    let outcome = m.call::<()>(&admin, "set_code", &code_hash, 0).unwrap();
    assert_eq!(outcome.value, Ok(()));
    assert_eq!(outcome.events.len(), 1);
    assert_eq!(m.config(), before);
    m.check_solvency().unwrap();
}
