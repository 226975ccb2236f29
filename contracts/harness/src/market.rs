//! A deployed marketplace and PSP22 token on a [`LocalChain`], with the typed calls and
//! the solvency invariant that the runtime tests, the gas report and the flow use.

use datamarket_fixtures::OfferBuilder;
use ink_sandbox::AccountId32;
use market_types::{
    Asset, ComputeTerms, Config, Dispute, Job, Liabilities, NewOffer, Offer, OfferId,
    OfferMetadata, Purchase, PurchaseId, HEADER_LEN,
};
use scale::{Decode, Encode};
use sealer::{
    BuyerPublicKey, ChunkSize, DataKey, Decryptor, Encryptor, EnvelopeContext, KeySealer,
};

use crate::{to_ink, Balance, Bundle, Contract, HarnessError, LocalChain, Outcome};

/// The settings a marketplace is deployed with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Marketplace fee in basis points.
    pub fee_bps: u16,
    /// Blocks the owner has to deliver.
    pub delivery_period: u32,
    /// Blocks the buyer has to dispute.
    pub dispute_window: u32,
    /// Minimum owner bond per offer.
    pub min_bond: Balance,
    /// PSP22 supply minted to the admin.
    pub token_supply: u128,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            fee_bps: 250,
            delivery_period: 10,
            dispute_window: 5,
            min_bond: 1_000,
            token_supply: 1_000_000_000_000,
        }
    }
}

/// The marketplace and the token, deployed by `admin`.
pub struct Market {
    /// The runtime.
    pub chain: LocalChain,
    /// The marketplace contract.
    pub market: Contract,
    /// The PSP22 token contract.
    pub token: Contract,
    /// Deployer and admin of both; holds the token supply.
    pub admin: AccountId32,
    /// Receives the marketplace fee.
    pub fee_recipient: AccountId32,
    /// The marketplace's free native balance right after deployment (its existential
    /// deposit): everything above it is owed to someone.
    base_native: Balance,
}

impl Market {
    /// Loads both bundles and deploys them on a fresh chain.
    pub fn deploy(settings: &Settings) -> Result<Self, HarnessError> {
        Self::deploy_on(LocalChain::new(), settings)
    }

    /// Deploys both contracts on `chain`.
    pub fn deploy_on(mut chain: LocalChain, settings: &Settings) -> Result<Self, HarnessError> {
        let admin = chain.account("admin");
        let fee_recipient = chain.account("fee-recipient");
        let token_bundle = Bundle::load("token")?;
        let market_bundle = Bundle::load("marketplace")?;
        let (token, ()) = chain.deploy(
            &token_bundle,
            "new",
            &(
                settings.token_supply,
                Some(String::from("Datamarket token")),
                Some(String::from("DMT")),
                12u8,
            ),
            0,
            &admin,
            b"token",
        )?;
        let (market, constructed) = chain.deploy::<_, market_types::Result<()>>(
            &market_bundle,
            "new",
            &(
                settings.fee_bps,
                to_ink(&fee_recipient),
                settings.delivery_period,
                settings.dispute_window,
                settings.min_bond,
            ),
            0,
            &admin,
            b"market",
        )?;
        constructed.map_err(|e| HarnessError::Dispatch {
            name: "new".into(),
            error: format!("{e:?}"),
        })?;
        let base_native = chain.free_balance(&market.address);
        Ok(Self {
            chain,
            market,
            token,
            admin,
            fee_recipient,
            base_native,
        })
    }

    /// Calls a marketplace message whose return type is `market_types::Result<R>`.
    pub fn call<R: Decode>(
        &mut self,
        origin: &AccountId32,
        message: &str,
        args: &impl Encode,
        value: Balance,
    ) -> Result<Outcome<market_types::Result<R>>, HarnessError> {
        self.chain.call(&self.market, message, args, value, origin)
    }

    /// Calls a marketplace message that must succeed, returning its value.
    ///
    /// # Panics
    /// If the runtime refuses it or the contract returns an error (tests and demos only).
    pub fn must<R: Decode>(
        &mut self,
        origin: &AccountId32,
        message: &str,
        args: &impl Encode,
        value: Balance,
    ) -> R {
        let outcome = self
            .call::<R>(origin, message, args, value)
            .unwrap_or_else(|e| panic!("{message}: {e}"));
        match outcome.value {
            Ok(value) => value,
            Err(error) => panic!("{message} returned {error:?}"),
        }
    }

    /// A read-only marketplace query.
    pub fn query<R: Decode>(&mut self, message: &str, args: &impl Encode) -> R {
        let origin = self.admin.clone();
        self.chain
            .query(&self.market, message, args, &origin)
            .unwrap_or_else(|e| panic!("{message}: {e}"))
    }

    /// Calls a token message (`"PSP22::transfer"`, ...), returning `Result<(), PSP22Error>`
    /// as its raw encoding's `Ok`/`Err` flag.
    pub fn token_call(
        &mut self,
        origin: &AccountId32,
        message: &str,
        args: &impl Encode,
    ) -> Result<Outcome<Result<(), TokenError>>, HarnessError> {
        self.chain.call(&self.token, message, args, 0, origin)
    }

    /// Gives `to` some tokens from the admin's supply.
    pub fn fund_tokens(&mut self, to: &AccountId32, amount: u128) {
        let admin = self.admin.clone();
        let outcome = self
            .token_call(
                &admin,
                "PSP22::transfer",
                &(to_ink(to), amount, Vec::<u8>::new()),
            )
            .expect("token transfer");
        assert_eq!(outcome.value, Ok(()), "token transfer refused");
    }

    /// Approves the marketplace to take `amount` tokens from `owner`.
    pub fn approve_market(&mut self, owner: &AccountId32, amount: u128) {
        let spender = self.market.account_id();
        let outcome = self
            .token_call(owner, "PSP22::approve", &(spender, amount))
            .expect("token approve");
        assert_eq!(outcome.value, Ok(()), "approve refused");
    }

    /// `who`'s token balance.
    pub fn token_balance(&mut self, who: &AccountId32) -> u128 {
        let origin = self.admin.clone();
        self.chain
            .query(&self.token, "PSP22::balance_of", &to_ink(who), &origin)
            .expect("balance_of")
    }

    /// The payment asset that is the deployed token.
    pub fn token_asset(&self) -> Asset {
        Asset::Psp22(self.token.account_id())
    }

    /// What `who` may withdraw in `asset`.
    pub fn credit_of(&mut self, who: &AccountId32, asset: Asset) -> Balance {
        self.query("credit_of", &(to_ink(who), asset))
    }

    /// What the marketplace owes in `asset`.
    pub fn liabilities(&mut self, asset: Asset) -> Liabilities {
        self.query("liabilities", &asset)
    }

    /// The offer with this id.
    pub fn offer(&mut self, id: OfferId) -> Option<Offer> {
        self.query("offer", &id)
    }

    /// The purchase with this id.
    pub fn purchase(&mut self, id: PurchaseId) -> Option<Purchase> {
        self.query("purchase_info", &id)
    }

    /// The settings in force.
    pub fn config(&mut self) -> Config {
        self.query("config", &())
    }

    /// The penalty a successful dispute takes from the owner's bond.
    pub fn dispute_penalty(&mut self) -> Balance {
        self.query("dispute_penalty", &())
    }

    /// The dispute of this purchase, if any.
    pub fn dispute_of(&mut self, id: PurchaseId) -> Option<Dispute> {
        self.query("dispute_of", &id)
    }

    /// What an envelope for this purchase is bound to (the sealer's context).
    ///
    /// # Panics
    /// If the purchase does not exist.
    pub fn envelope_context(&mut self, purchase_id: PurchaseId) -> EnvelopeContext {
        let purchase = self.purchase(purchase_id).expect("purchase");
        EnvelopeContext {
            contract: *self.market.address.as_ref(),
            offer_id: purchase.offer_id,
            purchase_id,
        }
    }

    /// Seals `dek` to the purchase's buyer key with the sealer, as an owner's watcher
    /// does; an owner who seals the wrong key delivers a bad envelope.
    ///
    /// # Panics
    /// If the purchase does not exist or the sealer refuses the key.
    pub fn seal_for(&mut self, purchase_id: PurchaseId, dek: &DataKey) -> [u8; 80] {
        let ctx = self.envelope_context(purchase_id);
        let buyer_pk = BuyerPublicKey(self.purchase(purchase_id).expect("purchase").buyer_pk);
        buyer_pk.seal(dek, &ctx).expect("seal").0
    }

    /// Everything observable about the marketplace, as text to compare before and after a
    /// call: every offer and its metadata, every purchase and its dispute, ids, settings
    /// (the dispute penalty too), liabilities, and the credits and native and token
    /// balances of `accounts` and of the contract itself.
    pub fn state_digest(&mut self, accounts: &[AccountId32]) -> String {
        let (last_offer, last_purchase): (OfferId, PurchaseId) = self.query("last_ids", &());
        let mut out = format!(
            "ids {last_offer} {last_purchase}\nconfig {:?}\npenalty {}\n",
            self.config(),
            self.dispute_penalty()
        );
        for id in 1..=last_offer {
            let metadata: Option<(String, OfferMetadata)> = self.query("offer_metadata", &id);
            let terms: Option<ComputeTerms> = self.query("compute_terms", &id);
            out += &format!("offer {id} {:?} {metadata:?} {terms:?}\n", self.offer(id));
        }
        for id in 1..=last_purchase {
            let job: Option<Job> = self.query("job_of", &id);
            out += &format!(
                "purchase {id} {:?} {:?} {job:?}\n",
                self.purchase(id),
                self.dispute_of(id)
            );
        }
        let token = self.token_asset();
        for asset in [Asset::Native, token] {
            out += &format!("liabilities {asset:?} {:?}\n", self.liabilities(asset));
        }
        let mut everyone = accounts.to_vec();
        everyone.push(self.market.address.clone());
        for account in &everyone {
            out += &format!(
                "{account} native {} token {} credits {} {}\n",
                self.chain.free_balance(account),
                self.token_balance(account),
                self.credit_of(account, Asset::Native),
                self.credit_of(account, token),
            );
        }
        out
    }

    /// The solvency invariant: what the contract holds of each asset equals what it owes
    /// (escrow + bonds + credited but not withdrawn).
    pub fn check_solvency(&mut self) -> Result<(), String> {
        let held_native = self
            .chain
            .free_balance(&self.market.address)
            .checked_sub(self.base_native)
            .ok_or("the marketplace holds less than its existential deposit")?;
        let owed_native = self.liabilities(Asset::Native).total().ok_or("overflow")?;
        if held_native != owed_native {
            return Err(format!("native: holds {held_native}, owes {owed_native}"));
        }
        let market = self.market.address.clone();
        let held_tokens = self.token_balance(&market);
        let asset = self.token_asset();
        let owed = self.liabilities(asset);
        if owed.bonds != 0 {
            return Err(format!("token bonds must be zero, found {}", owed.bonds));
        }
        let owed_tokens = owed.total().ok_or("overflow")?;
        if held_tokens != owed_tokens {
            return Err(format!("token: holds {held_tokens}, owes {owed_tokens}"));
        }
        Ok(())
    }
}

/// The token's error, from the PSP22 crate it is built on.
pub use psp22::PSP22Error as TokenError;

pub use datamarket_fixtures::header;

/// The fixture kit's offer (see [`OfferBuilder`]), paid in `asset` at `price`, split
/// among `payees` (runtime account, basis points).
pub fn sample_offer(price: Balance, asset: Asset, payees: &[(&AccountId32, u16)]) -> NewOffer {
    let payees: Vec<_> = payees
        .iter()
        .map(|(account, bps)| (to_ink(account), *bps))
        .collect();
    OfferBuilder::new()
        .price(price)
        .asset(asset)
        .payees(&payees)
        .build()
}

/// A dataset encrypted by the sealer library (format v1), with what its offer publishes:
/// the contract's dispute checks are tested against these bytes.
pub struct SealedDataset {
    /// The data key.
    pub dek: DataKey,
    /// The whole ciphertext file (header then chunks).
    pub ciphertext: Vec<u8>,
    /// Its 26-byte header.
    pub header: [u8; HEADER_LEN],
    /// Its content root.
    pub content_root: [u8; 32],
}

impl SealedDataset {
    /// Encrypts `plaintext` under a fresh key in chunks of `chunk_size` bytes.
    ///
    /// # Panics
    /// On an invalid chunk size (tests only).
    pub fn new(plaintext: &[u8], chunk_size: u32) -> Self {
        let dek = DataKey::generate().expect("rng");
        let mut ciphertext = Vec::new();
        let sealed = Encryptor::new(
            &dek,
            plaintext.len() as u64,
            ChunkSize::new(u64::from(chunk_size)).expect("chunk size"),
        )
        .expect("encryptor")
        .threads(1)
        .encrypt(plaintext, &mut ciphertext)
        .expect("encrypt");
        Self {
            dek,
            ciphertext,
            header: sealed.header.to_bytes(),
            content_root: sealed.content_root.0,
        }
    }

    /// What a dishonest owner lists: the same ciphertext with one byte of chunk `index`
    /// flipped, and the content root of those tampered bytes (so every chunk still has a
    /// valid proof, but chunk `index` does not decrypt under the committed key).
    ///
    /// # Panics
    /// If the index is out of range.
    pub fn tamper_chunk(mut self, index: u64) -> Self {
        let header = sealer::Header::parse(&self.header).expect("header");
        let offset = usize::try_from(header.chunk_offset(index)).expect("offset");
        assert!(index < header.chunk_count(), "no chunk {index}");
        self.ciphertext[offset] ^= 1;
        let opened = Decryptor::verifier()
            .threads(1)
            .verify(&self.ciphertext[..])
            .expect("hash");
        self.content_root = opened.content_root.expect("hashed").0;
        self
    }

    /// An offer of this dataset (content root, header and key commitment from the
    /// sealer), otherwise like [`sample_offer`].
    pub fn offer(&self, price: Balance, asset: Asset, payees: &[(&AccountId32, u16)]) -> NewOffer {
        NewOffer {
            content_root: self.content_root,
            header: self.header,
            key_commitment: self.dek.commitment().0,
            ..sample_offer(price, asset, payees)
        }
    }

    /// The sealer's inclusion proof of chunk `index`: the stored chunk (ciphertext ‖
    /// tag) and the sibling path, what `dispute_chunk` takes.
    ///
    /// # Panics
    /// If the index is out of range.
    pub fn proof(&self, index: u64) -> (Vec<u8>, Vec<[u8; 32]>) {
        let (proof, chunk, root) = Decryptor::verifier()
            .threads(1)
            .prove(&self.ciphertext[..], index)
            .expect("prove");
        assert_eq!(root.0, self.content_root);
        assert_eq!(proof.header, self.header);
        (chunk, proof.siblings)
    }
}
