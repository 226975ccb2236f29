//! `offer create` (encrypt, upload, list) and the owner's changes to an offer.

use std::{fmt, fs::File, path::PathBuf};

use chain::{
    market_types::{Asset, Error as MarketError, NewOffer, OfferId, OfferMetadata, Payee},
    AccountId, Balance, Signer,
};
use sealer::{ChunkSize, DataKey, Encryptor};
use serde::Serialize;

use super::{asset_name, Settings};
use crate::{blobs::BlobStore, market::Market, progress::Progress, Error, Result};

/// What `offer create` lists.
#[derive(Debug, Clone)]
pub struct OfferSpec {
    /// The plaintext file.
    pub file: PathBuf,
    /// Price per purchase.
    pub price: Balance,
    /// Payment asset.
    pub asset: Asset,
    /// Revenue split in basis points; empty for the owner 100%.
    pub payees: Vec<(AccountId, u16)>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Schema (free text, e.g. CSV columns).
    pub schema: String,
    /// At most this many purchases.
    pub max_purchases: Option<u32>,
}

/// A listed offer.
#[derive(Debug, Clone, Serialize)]
pub struct OfferCreated {
    /// Its id.
    pub offer_id: OfferId,
    /// The ciphertext's location.
    pub uri: String,
    /// Its content root (hex).
    pub content_root: String,
    /// Its key commitment (hex).
    pub key_commitment: String,
    /// Plaintext bytes.
    pub size: u64,
    /// Price and asset.
    pub price: Balance,
    /// "native" or "token ADDR".
    pub asset: String,
    /// The bond locked.
    pub bond: Balance,
}

impl fmt::Display for OfferCreated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "offer {} created", self.offer_id)?;
        writeln!(f, "  price           {} ({})", self.price, self.asset)?;
        writeln!(f, "  ciphertext      {}", self.uri)?;
        writeln!(f, "  content root    {}", self.content_root)?;
        writeln!(f, "  key commitment  {}", self.key_commitment)?;
        write!(f, "  bond            {}", self.bond)
    }
}

/// Encrypts `spec.file` to a local temporary file, puts it into the blob store as
/// `<content root>.dmseal`, keeps its data key in the keystore and lists it on the
/// marketplace with the minimum bond, the URI being the object's URL in the store.
///
/// # Errors
/// Bad metadata or split, an unreadable file, or a refused call.
pub fn create_offer(
    settings: &Settings,
    market: &mut Market,
    owner: &Signer,
    spec: &OfferSpec,
) -> Result<OfferCreated> {
    let payees: Vec<Payee> = if spec.payees.is_empty() {
        vec![Payee {
            account: owner.account_id(),
            bps: 10_000,
        }]
    } else {
        spec.payees
            .iter()
            .map(|(account, bps)| Payee {
                account: *account,
                bps: *bps,
            })
            .collect()
    };
    let input = File::open(&spec.file).map_err(|e| Error::io("cannot read", &spec.file, e))?;
    // A pipe reports no length: it is read to its end first.
    let (input, size) = sealer::file_of_known_length(input).map_err(|e| match e {
        sealer::Error::Io(e) => Error::io("cannot read", &spec.file, e),
        other => other.into(),
    })?;
    if size == 0 {
        return Err(Error::invalid(format!(
            "{} is empty: there is nothing to sell",
            spec.file.display()
        )));
    }
    let metadata = OfferMetadata {
        title: spec.title.clone(),
        description: spec.description.clone(),
        tags: spec.tags.clone(),
        schema: spec.schema.clone(),
        size,
    };
    let store = BlobStore::open(&settings.blobs)?;
    // Refuse bad input before any work: same checks as the contract, on a URI as long
    // as the real one.
    let placeholder_uri = format!("{}/{}.dmseal", store.describe(), "0".repeat(64));
    let action = format!("list {}", spec.file.display());
    let local = |error| Error::Refused {
        action: action.clone(),
        error,
    };
    chain::market_types::check_metadata(&placeholder_uri, &metadata).map_err(local)?;
    chain::market_types::check_split(&payees).map_err(local)?;
    if spec.price == 0 {
        return Err(local(MarketError::ZeroPrice));
    }
    let bond = market.config()?.min_bond;

    let (dek, sealed, staged) = encrypt_to_staging(&store, &input, size, &settings.progress)?;
    let upload = settings
        .progress
        .bytes("uploading", sealed.header.ciphertext_len());
    let uri = store.put(
        staged,
        &format!("{}.dmseal", sealed.content_root.to_hex()),
        &upload,
    )?;
    upload.finish_and_clear();
    let key_path = match settings.keystore.save_data_key(&sealed.content_root, &dek) {
        Ok(path) => path,
        Err(error) => {
            // Without its key the ciphertext is useless to anyone: take it back.
            let _ = store.delete(&uri);
            return Err(error);
        }
    };
    let offer = NewOffer {
        content_root: sealed.content_root.0,
        header: sealed.header.to_bytes(),
        key_commitment: dek.commitment().0,
        price: spec.price,
        asset: spec.asset,
        uri: uri.clone(),
        metadata,
        payees,
        max_purchases: spec.max_purchases,
    };
    let offer_id = match market.call::<OfferId>(owner, action, "create_offer", &offer, bond) {
        Ok(id) => id,
        Err(error) => {
            // Refused before submission: nothing refers to the blob or the key.
            if matches!(
                error,
                Error::Refused { .. } | Error::Chain(chain::ChainError::InsufficientFunds { .. })
            ) {
                let _ = store.delete(&uri);
                let _ = std::fs::remove_file(&key_path);
            }
            return Err(error);
        }
    };
    Ok(OfferCreated {
        offer_id,
        uri,
        content_root: sealed.content_root.to_hex(),
        key_commitment: dek.commitment().to_hex(),
        size,
        price: spec.price,
        asset: asset_name(&spec.asset),
        bond,
    })
}

/// Encrypts under a fresh data key into the store's staging file.
fn encrypt_to_staging(
    store: &BlobStore,
    input: &File,
    size: u64,
    progress: &Progress,
) -> Result<(DataKey, sealer::Sealed, tempfile::NamedTempFile)> {
    let dek = DataKey::generate()?;
    let staged = store.staging_file()?;
    let encryptor = Encryptor::new(&dek, size, ChunkSize::DEFAULT)?;
    let bar = progress.bytes("encrypting", encryptor.header().ciphertext_len());
    let sealed = encryptor
        .progress(|bytes| bar.inc(bytes))
        .encrypt_file(input, staged.as_file())?;
    bar.finish_and_clear();
    Ok((dek, sealed, staged))
}

// ---- offer management --------------------------------------------------------------

/// What an owner can do to an offer.
#[derive(Debug, Clone, Copy)]
pub enum OfferChange {
    /// Stop sales for a while.
    Pause,
    /// Reopen sales.
    Resume,
    /// Stop sales for good (the bond comes back once no purchase is open).
    Delist,
    /// A new price for future purchases.
    Price(Balance),
}

/// An offer after a change.
#[derive(Debug, Clone, Serialize)]
pub struct OfferChanged {
    /// The offer.
    pub offer_id: OfferId,
    /// Its status now.
    pub status: String,
    /// Its price now.
    pub price: Balance,
}

impl fmt::Display for OfferChanged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "offer {}: {}, price {}",
            self.offer_id, self.status, self.price
        )
    }
}

/// Pauses, resumes, delists or re-prices an offer.
///
/// # Errors
/// An unknown offer, or the marketplace's refusal.
pub fn change_offer(
    market: &mut Market,
    owner: &Signer,
    offer_id: OfferId,
    change: OfferChange,
) -> Result<OfferChanged> {
    market.offer(offer_id)?;
    match change {
        OfferChange::Pause => market.call::<()>(
            owner,
            format!("pause offer {offer_id}"),
            "pause_offer",
            &offer_id,
            0,
        )?,
        OfferChange::Resume => market.call::<()>(
            owner,
            format!("resume offer {offer_id}"),
            "resume_offer",
            &offer_id,
            0,
        )?,
        OfferChange::Delist => market.call::<()>(
            owner,
            format!("delist offer {offer_id}"),
            "delist_offer",
            &offer_id,
            0,
        )?,
        OfferChange::Price(price) => market.call::<()>(
            owner,
            format!("change the price of offer {offer_id}"),
            "update_price",
            &(offer_id, price),
            0,
        )?,
    }
    let offer = market.offer(offer_id)?;
    Ok(OfferChanged {
        offer_id,
        status: format!("{:?}", offer.status).to_lowercase(),
        price: offer.price,
    })
}
