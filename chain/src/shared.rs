//! One chain shared by several users in one program (the in-process runtime has its
//! blocks only in the program that drives it).

use std::sync::{Arc, Mutex};

use crate::{AccountId, BlockReader, Chain, Signer};

/// A chain that several tasks share; each call locks it.
pub type SharedChain = Arc<Mutex<Box<dyn Chain + Send>>>;

/// Wraps a chain for sharing.
pub fn share(chain: Box<dyn Chain + Send>) -> SharedChain {
    Arc::new(Mutex::new(chain))
}

/// A shared chain as a [`Chain`] of its own that locks it for each call: what a program
/// that both drives a chain and indexes it hands each part (the demo's CLI watcher owns
/// its chain; the indexer reads its blocks through [`BlockReader`] alone).
#[derive(Clone)]
pub struct Locked(pub SharedChain);

impl Locked {
    /// The chain, locked.
    pub fn chain(&self) -> std::sync::MutexGuard<'_, Box<dyn Chain + Send>> {
        // A panic elsewhere leaves the chain itself usable.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl BlockReader for Locked {
    fn endpoint(&self) -> String {
        self.chain().endpoint()
    }

    fn finalized_head(&mut self) -> Result<crate::BlockRef, crate::ChainError> {
        self.chain().finalized_head()
    }

    fn block_hash(
        &mut self,
        number: crate::BlockNumber,
    ) -> Result<Option<crate::BlockHash>, crate::ChainError> {
        self.chain().block_hash(number)
    }

    fn header(
        &mut self,
        hash: crate::BlockHash,
    ) -> Result<Option<crate::Header>, crate::ChainError> {
        self.chain().header(hash)
    }

    fn contract_events(
        &mut self,
        hash: crate::BlockHash,
    ) -> Result<Vec<crate::ContractEvent>, crate::ChainError> {
        self.chain().contract_events(hash)
    }
}

impl Chain for Locked {
    fn dry_run_instantiate(
        &mut self,
        origin: &AccountId,
        code: &[u8],
        data: &[u8],
        value: u128,
        salt: &[u8],
    ) -> Result<crate::DryInstantiate, crate::ChainError> {
        self.chain()
            .dry_run_instantiate(origin, code, data, value, salt)
    }

    fn instantiate_with_code(
        &mut self,
        signer: &Signer,
        code: &[u8],
        data: &[u8],
        value: u128,
        salt: &[u8],
        gas_limit: crate::Weight,
    ) -> Result<(crate::Included, AccountId), crate::ChainError> {
        self.chain()
            .instantiate_with_code(signer, code, data, value, salt, gas_limit)
    }

    fn dry_run_call(
        &mut self,
        origin: &AccountId,
        contract: &AccountId,
        data: &[u8],
        value: u128,
    ) -> Result<crate::DryRun, crate::ChainError> {
        self.chain().dry_run_call(origin, contract, data, value)
    }

    fn submit_call(
        &mut self,
        signer: &Signer,
        contract: &AccountId,
        data: &[u8],
        value: u128,
        gas_limit: crate::Weight,
    ) -> Result<crate::Included, crate::ChainError> {
        self.chain()
            .submit_call(signer, contract, data, value, gas_limit)
    }

    fn transfer(
        &mut self,
        signer: &Signer,
        to: &AccountId,
        amount: u128,
    ) -> Result<crate::Included, crate::ChainError> {
        self.chain().transfer(signer, to, amount)
    }

    fn free_balance(&mut self, account: &AccountId) -> Result<u128, crate::ChainError> {
        self.chain().free_balance(account)
    }
}
