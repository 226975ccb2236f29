//! `fetch`: download a purchase's ciphertext, open its key, verify and decrypt.

use std::{
    fmt,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use chain::market_types::{OfferId, PurchaseId, PurchaseStatus};
use sealer::{
    BuyerPublicKey, ContentRoot, Decryptor, EnvelopeContext, KeyCommitment, KeyOpener,
    SealedEnvelope,
};
use serde::Serialize;

use super::Settings;
use crate::{market::Market, Error, Result};

/// A fetched and decrypted dataset.
#[derive(Debug, Clone, Serialize)]
pub struct Fetched {
    /// The purchase.
    pub purchase_id: PurchaseId,
    /// Its offer.
    pub offer_id: OfferId,
    /// Where the plaintext is.
    pub output: PathBuf,
    /// Plaintext bytes.
    pub size: u64,
    /// The content root the ciphertext matched (hex).
    pub content_root: String,
}

impl fmt::Display for Fetched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "decrypted offer {} (purchase {}) to {}: {} bytes, content root {} verified",
            self.offer_id,
            self.purchase_id,
            self.output.display(),
            self.size,
            self.content_root
        )
    }
}

/// Waits up to `timeout` for the purchase's key, opens the envelope with the purchase's
/// key from the keystore, checks it against the offer's key commitment, and decrypts the
/// offer's ciphertext to `output`, checked chunk by chunk against the content root. The
/// output appears only when all of it is verified.
///
/// # Errors
/// An unknown purchase, no key in time, a refunded purchase, an envelope that does not
/// open, a wrong key, or a ciphertext that does not match the offer.
pub fn fetch(
    settings: &Settings,
    market: &mut Market,
    purchase_id: PurchaseId,
    output: &Path,
    timeout: Duration,
) -> Result<Fetched> {
    // Found now, not after waiting for the key and downloading everything.
    settings.keystore.check_outside(output)?;
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::invalid(format!(
            "{} is not a directory: nowhere to write {}",
            dir.display(),
            output.display()
        )));
    }
    let started = Instant::now();
    let waiting = settings
        .progress
        .spinner(format!("waiting for the key of purchase {purchase_id}"));
    let purchase = loop {
        let purchase = market.purchase(purchase_id)?;
        if purchase.envelope.is_some() {
            break purchase;
        }
        if purchase.status != PurchaseStatus::Pending {
            return Err(Error::invalid(format!(
                "purchase {purchase_id} is {:?} without a key; none will come",
                purchase.status
            )));
        }
        if started.elapsed() >= timeout {
            return Err(Error::invalid(format!(
                "no key delivered for purchase {purchase_id} within {}s; the owner must deliver by block {}, after which `datamarket refund {purchase_id}` returns the payment",
                timeout.as_secs(),
                purchase.delivery_deadline
            )));
        }
        std::thread::sleep(
            Duration::from_secs(2)
                .min(timeout.saturating_sub(started.elapsed()))
                .max(Duration::from_millis(100)),
        );
    };
    waiting.finish_and_clear();
    let offer_id = purchase.offer_id;
    let offer = market.offer(offer_id)?;
    let public = BuyerPublicKey(purchase.buyer_pk);
    let key = settings.keystore.purchase_key(&public)?.ok_or_else(|| {
        Error::invalid(format!(
            "the keystore {} has no key for purchase {purchase_id} (public key {}): was it bought from another machine?",
            settings.keystore.root().display(),
            public.to_hex()
        ))
    })?;
    let context = EnvelopeContext {
        contract: *market.address().as_ref(),
        offer_id,
        purchase_id,
    };
    let envelope = SealedEnvelope(purchase.envelope.expect("checked above"));
    let dispute_hint = purchase
        .dispute_deadline
        .map(|block| format!("; you can dispute it until block {block}"))
        .unwrap_or_default();
    let dek = key.open(&envelope, &context).map_err(|e| {
        Error::invalid(format!(
            "the key delivered for purchase {purchase_id} does not open with this purchase's key ({e}){dispute_hint}"
        ))
    })?;
    dek.check_commitment(&KeyCommitment(offer.key_commitment))
        .map_err(|_| {
            Error::invalid(format!(
                "the key delivered for purchase {purchase_id} does not match offer {offer_id}'s key commitment{dispute_hint}"
            ))
        })?;
    let (uri, _) = market.offer_metadata(offer_id)?;
    // The header on chain says how long the ciphertext is: no more is downloaded.
    let expected_len = sealer::Header::parse(&offer.header)
        .map_err(sealer::Error::from)?
        .ciphertext_len();
    let download = settings.progress.bytes("downloading", expected_len);
    let input = crate::blobs::open_ciphertext(&uri, expected_len, &download)?;
    download.finish_and_clear();
    let ciphertext_len = input
        .metadata()
        .map_err(|e| Error::io("cannot read the ciphertext", &uri, e))?
        .len();
    let bar = settings.progress.bytes("decrypting", ciphertext_len);
    let opened = sealer::write_atomically(output, |out| {
        Decryptor::new(&dek)
            .expect_root(ContentRoot(offer.content_root))
            .expect_header(offer.header)
            .expect_key_commitment(KeyCommitment(offer.key_commitment))
            .progress(|bytes| bar.inc(bytes))
            .decrypt_file(&input, out)
    })
    .map_err(|e| match e {
        sealer::Error::Io(io) => Error::io("cannot write", output, io),
        other => Error::invalid(format!(
            "the ciphertext at {} does not match offer {offer_id}: {other}; nothing was written",
            uri
        )),
    })?;
    bar.finish_and_clear();
    Ok(Fetched {
        purchase_id,
        offer_id,
        output: output.to_owned(),
        size: opened.header.plaintext_len(),
        content_root: hex::encode(offer.content_root),
    })
}
