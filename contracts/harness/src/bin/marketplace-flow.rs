//! The marketplace flow on the in-process pallet-contracts runtime, step by step, with
//! the balances at the end. Two owners encrypt their datasets (the sealer's format v1)
//! into a local blob directory and list them, one of them a data union of three
//! contributors paid in the PSP22 token; two buyers pay into escrow with a fresh X25519
//! key each; the owners seal each data key to the buyer's key and deliver it on chain;
//! the buyers open their envelopes, check the key commitment and the content root from
//! the chain, and decrypt; the purchases settle after the dispute window, and every
//! payee withdraws.

use std::{fs::File, io::BufReader, path::Path};

use anyhow::{ensure, Context, Result};
use contract_harness::{
    market::{sample_offer, Market, Settings},
    market_types::{Asset, NewOffer, OfferId, PurchaseId},
    Balance,
};
use drink::AccountId32;
use sealer::{
    BuyerSecretKey, ChunkSize, ContentRoot, DataKey, Decryptor, Encryptor, EnvelopeContext,
    KeyCommitment, KeyOpener, KeySealer, SealedEnvelope,
};
use sha2::{Digest, Sha256};

/// A dataset its owner has encrypted: the key stays with the owner, the ciphertext goes
/// to the blob store, the commitments go on chain.
struct Encrypted {
    dek: DataKey,
    uri: String,
    path: std::path::PathBuf,
    offer: NewOffer,
    plaintext_sha256: [u8; 32],
}

fn encrypt_dataset(
    blobs: &Path,
    name: &str,
    plaintext: &[u8],
    price: Balance,
    asset: Asset,
    payees: &[(&AccountId32, u16)],
) -> Result<Encrypted> {
    let dek = DataKey::generate()?;
    let path = blobs.join(format!("{name}.dmseal"));
    let mut file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let sealed = Encryptor::new(&dek, plaintext.len() as u64, ChunkSize::DEFAULT)?
        .encrypt(plaintext, &mut file)?;
    let uri = format!("file://{}", path.display());
    let mut offer = sample_offer(price, asset, payees);
    offer.content_root = sealed.content_root.0;
    offer.header = sealed.header.to_bytes();
    offer.key_commitment = dek.commitment().0;
    offer.uri = uri.clone();
    offer.metadata.size = plaintext.len() as u64;
    Ok(Encrypted {
        dek,
        uri,
        path,
        offer,
        plaintext_sha256: Sha256::digest(plaintext).into(),
    })
}

/// What the owner does when a purchase appears: read the buyer's key from the chain and
/// seal the data key to it, bound to this contract, offer and purchase.
fn seal_for(
    m: &mut Market,
    dataset: &Encrypted,
    offer_id: OfferId,
    purchase_id: PurchaseId,
) -> Result<[u8; 80]> {
    let purchase = m.purchase(purchase_id).context("purchase not on chain")?;
    let buyer_pk = sealer::BuyerPublicKey(purchase.buyer_pk);
    let ctx = EnvelopeContext {
        contract: *m.market.address.as_ref(),
        offer_id,
        purchase_id,
    };
    Ok(buyer_pk.seal(&dataset.dek, &ctx)?.0)
}

/// What the buyer does once the key is delivered: everything it checks comes from the
/// chain (envelope, key commitment, content root), never from the owner.
fn open_and_decrypt(
    m: &mut Market,
    secret: &BuyerSecretKey,
    offer_id: OfferId,
    purchase_id: PurchaseId,
    path: &Path,
) -> Result<[u8; 32]> {
    let purchase = m.purchase(purchase_id).context("purchase not on chain")?;
    let offer = m.offer(offer_id).context("offer not on chain")?;
    let envelope = purchase.envelope.context("no key delivered yet")?;
    let ctx = EnvelopeContext {
        contract: *m.market.address.as_ref(),
        offer_id,
        purchase_id,
    };
    let dek = secret.open(&SealedEnvelope(envelope), &ctx)?;
    dek.check_commitment(&KeyCommitment(offer.key_commitment))?;
    let mut plaintext = Vec::new();
    let ciphertext = BufReader::new(File::open(path)?);
    Decryptor::new(&dek)
        .expect_root(ContentRoot(offer.content_root))
        .decrypt(ciphertext, &mut plaintext)?;
    Ok(Sha256::digest(&plaintext).into())
}

fn sleep_diary() -> Vec<u8> {
    let mut csv = String::from("date,bed,wake,minutes_asleep\n");
    for day in 0..730u32 {
        let minutes = 380 + (day * 37) % 120;
        csv += &format!(
            "2024-day-{day:03},23:{:02},07:{:02},{minutes}\n",
            day % 60,
            (day * 7) % 60
        );
    }
    csv.into_bytes()
}

fn rides() -> Vec<u8> {
    let mut csv = String::from("rider,ride,lat,lon,seconds\n");
    for i in 0..20_000u32 {
        csv += &format!(
            "{},{},{:.5},{:.5},{}\n",
            i % 3,
            i / 50,
            52.0 + f64::from(i % 997) / 1e4,
            13.0 + f64::from(i % 991) / 1e4,
            i % 3600
        );
    }
    csv.into_bytes()
}

fn hex8(digest: &[u8; 32]) -> String {
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn main() -> Result<()> {
    let settings = Settings::default();
    println!("1. deploy the PSP22 token and the marketplace (fee {} bps, delivery within {} blocks, dispute window {} blocks, min bond {})",
        settings.fee_bps, settings.delivery_period, settings.dispute_window, settings.min_bond);
    let mut m = Market::deploy(&settings).context("deploying; did scripts/build-contracts run?")?;
    println!("   token       {}", m.token.address);
    println!("   marketplace {}", m.market.address);

    let ada = m.chain.account("ada");
    let union = [
        m.chain.account("union-kim"),
        m.chain.account("union-lee"),
        m.chain.account("union-max"),
    ];
    let ben = m.chain.account("ben");
    let cleo = m.chain.account("cleo");
    let token = m.token_asset();
    let bond = settings.min_bond;
    let blobs = tempfile::Builder::new()
        .prefix("datamarket-blobs-")
        .tempdir()?;

    println!(
        "2. ada encrypts her sleep diary into the blob store and lists it for 50 000 native units"
    );
    let sleep = encrypt_dataset(
        blobs.path(),
        "sleep-diary",
        &sleep_diary(),
        50_000,
        Asset::Native,
        &[(&ada, 10_000)],
    )?;
    let mut offer = sleep.offer.clone();
    offer.metadata.title = "Sleep diary 2024-2025".into();
    offer.metadata.tags = vec!["health".into(), "sleep".into()];
    let sleep_id: OfferId = m.must(&ada, "create_offer", &offer, bond);
    println!(
        "   offer {sleep_id}: {} bytes of plaintext at {}",
        offer.metadata.size, sleep.uri
    );
    println!(
        "   content root {}…, key commitment {}…",
        hex8(&offer.content_root),
        hex8(&offer.key_commitment)
    );

    println!("3. a data union of three cyclists pools its rides and lists them for 90 001 DMT, split 50/30/20");
    let split = [(&union[0], 5_000), (&union[1], 3_000), (&union[2], 2_000)];
    let pooled = encrypt_dataset(blobs.path(), "rides", &rides(), 90_001, token, &split)?;
    let mut offer = pooled.offer.clone();
    offer.metadata.title = "Riverside cycling union: rides".into();
    offer.metadata.tags = vec!["mobility".into(), "gps".into()];
    let rides_id: OfferId = m.must(&union[0], "create_offer", &offer, bond);
    println!(
        "   offer {rides_id}: {} bytes of plaintext at {}",
        offer.metadata.size, pooled.uri
    );

    println!("4. ben makes an X25519 key for this purchase only and pays 50 000 native units into escrow");
    let ben_key = BuyerSecretKey::generate()?;
    let ben_purchase: PurchaseId = m.must(
        &ben,
        "purchase",
        &(sleep_id, ben_key.public_key().0),
        50_000,
    );
    println!("   purchase {ben_purchase}");
    println!("5. cleo gets 90 001 DMT, approves the marketplace and buys the rides with her own fresh key");
    m.fund_tokens(&cleo, 90_001);
    m.approve_market(&cleo, 90_001);
    let cleo_key = BuyerSecretKey::generate()?;
    let cleo_purchase: PurchaseId =
        m.must(&cleo, "purchase", &(rides_id, cleo_key.public_key().0), 0);
    println!("   purchase {cleo_purchase}");
    m.check_solvency().map_err(anyhow::Error::msg)?;

    println!("6. the owners seal each data key to the buyer's key from the chain and deliver the 80-byte envelopes");
    let envelope = seal_for(&mut m, &sleep, sleep_id, ben_purchase)?;
    m.must::<()>(&ada, "deliver", &(ben_purchase, envelope), 0);
    let envelope = seal_for(&mut m, &pooled, rides_id, cleo_purchase)?;
    m.must::<()>(&union[0], "deliver", &(cleo_purchase, envelope), 0);

    println!(
        "7. the buyers open their envelopes, check key commitment and content root, and decrypt"
    );
    for (who, key, offer_id, purchase_id, dataset) in [
        ("ben", &ben_key, sleep_id, ben_purchase, &sleep),
        ("cleo", &cleo_key, rides_id, cleo_purchase, &pooled),
    ] {
        let digest = open_and_decrypt(&mut m, key, offer_id, purchase_id, &dataset.path)?;
        ensure!(
            digest == dataset.plaintext_sha256,
            "{who}'s plaintext differs from the original"
        );
        println!(
            "   {who:<5} decrypted offer {offer_id}: SHA-256 {}… matches the original",
            hex8(&digest)
        );
    }
    // Another buyer's key opens nothing: the envelope is bound to one key and purchase.
    let wrong = open_and_decrypt(&mut m, &cleo_key, sleep_id, ben_purchase, &sleep.path);
    ensure!(wrong.is_err(), "cleo's key opened ben's envelope");
    println!(
        "   cleo's key does not open ben's envelope: {}",
        wrong.err().map(|e| e.to_string()).unwrap_or_default()
    );

    let blocks = settings.dispute_window + 1;
    println!("8. {blocks} blocks pass; the dispute window closes; anyone settles");
    m.chain.build_blocks(blocks);
    m.must::<()>(&ben, "settle", &ben_purchase, 0);
    m.must::<()>(&cleo, "settle", &cleo_purchase, 0);
    m.check_solvency().map_err(anyhow::Error::msg)?;

    println!("9. every payee and the fee recipient withdraws");
    let fee_recipient = m.fee_recipient.clone();
    let mut payees: Vec<(&str, AccountId32)> = vec![("ada", ada.clone())];
    for (name, account) in ["union-kim", "union-lee", "union-max"].iter().zip(&union) {
        payees.push((name, account.clone()));
    }
    payees.push(("fee-recipient", fee_recipient));
    for (name, account) in &payees {
        for asset in [Asset::Native, token] {
            if m.credit_of(account, asset) > 0 {
                let paid: Balance = m.must(account, "withdraw", &asset, 0);
                let unit = if asset == Asset::Native {
                    "native"
                } else {
                    "DMT"
                };
                println!("   {name:<14} withdrew {paid:>7} {unit}");
            }
        }
    }
    m.check_solvency().map_err(anyhow::Error::msg)?;
    let owed = m.liabilities(Asset::Native);
    ensure!(
        owed.escrow == 0 && owed.credited == 0,
        "native still owed: {owed:?}"
    );

    println!("10. final balances (native: free balance; each account started with {}, and bonds and storage deposits moved some)",
        contract_harness::ENDOWMENT);
    println!("   {:<14} {:>20} {:>10}", "account", "native", "DMT");
    let mut everyone = payees.clone();
    everyone.push(("ben", ben));
    everyone.push(("cleo", cleo));
    let market = m.market.address.clone();
    everyone.push(("marketplace", market));
    for (name, account) in &everyone {
        let native = m.chain.free_balance(account);
        let dmt = m.token_balance(account);
        println!("   {name:<14} {native:>20} {dmt:>10}");
    }
    println!(
        "   the marketplace holds the two owners' bonds: {}",
        m.liabilities(Asset::Native).bonds
    );
    Ok(())
}
