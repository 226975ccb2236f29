//! Decoding of emitted events by their signature topic (off-chain only).

use super::events::*;
use ink::env::Event as _;
use scale::Decode;

macro_rules! market_events {
    ($($name:ident),* $(,)?) => {
        /// Any event the marketplace emits.
        // Events are decoded one at a time and moved on; boxing would buy nothing.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum MarketEvent {
            $(
                #[allow(missing_docs)]
                $name($name),
            )*
        }

        impl MarketEvent {
            /// Decodes `data` as the event whose signature topic is `signature`.
            /// `None` if no marketplace event has that signature; `Some(Err)` if
            /// the bytes do not decode as that event (all of them must be used).
            pub fn decode(
                signature: &[u8; 32],
                mut data: &[u8],
            ) -> Option<Result<Self, scale::Error>> {
                $(
                    if <$name>::SIGNATURE_TOPIC.as_ref() == Some(signature) {
                        let event = <$name>::decode(&mut data).and_then(|event| {
                            if data.is_empty() {
                                Ok(Self::$name(event))
                            } else {
                                Err("trailing bytes after the event".into())
                            }
                        });
                        return Some(event);
                    }
                )*
                None
            }

            /// The event's name, as in the contract's metadata.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$name(_) => stringify!($name),)*
                }
            }
        }
    };
}

market_events!(
    OfferCreated,
    OfferPriceUpdated,
    OfferMetadataUpdated,
    OfferStatusChanged,
    BondReleased,
    PurchaseCreated,
    KeyDelivered,
    PurchaseSettled,
    PurchaseRefunded,
    PurchaseDisputed,
    Withdrawn,
    ConfigChanged,
    MarketPauseChanged,
    AdminTransferred,
    CodeUpgraded,
    DisputePenaltyChanged,
    ComputeTermsSet,
    JobPurchased,
    JobCompleted,
    JobFailed,
);
