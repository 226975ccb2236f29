//! The CLI's built-in message selectors equal those in the built contract bundles'
//! metadata, so that the CLI can call the contracts without the bundle files.

use chain::Bundle;
use datamarket_cli::selectors;

fn check(bundle: &str, built_in: &[(&str, [u8; 4])]) {
    let bundle = Bundle::load(bundle).expect("the bundles (scripts/build-contracts)");
    for (label, selector) in built_in {
        assert_eq!(
            bundle.selector(label).unwrap(),
            *selector,
            "{}.{label}",
            bundle.name
        );
    }
}

#[test]
fn built_in_selectors_match_the_bundles() {
    check("marketplace", selectors::MARKETPLACE);
    check("token", selectors::PSP22);
}
