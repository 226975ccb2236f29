//! A PSP22 fungible token: the marketplace's optional payment asset.
//!
//! The bookkeeping (balances, allowances, the standard's checks and events) is
//! Cardinal-Cryptography's `psp22` crate, the reference implementation of the standard;
//! this contract only stores it, adds the metadata extension and emits its events.
#![cfg_attr(not(feature = "std"), no_std, no_main)]
// ink!'s generated code for trait implementations uses `unsafe`; this crate writes none.
#![allow(unsafe_code)]

#[ink::contract]
mod token {
    use ink::prelude::{string::String, vec::Vec};
    use psp22::{PSP22Data, PSP22Error, PSP22Event, PSP22Metadata, PSP22};

    /// Balances and allowances (in `PSP22Data`) plus the metadata extension.
    #[ink(storage)]
    pub struct Token {
        data: PSP22Data,
        name: Option<String>,
        symbol: Option<String>,
        decimals: u8,
    }

    impl Token {
        /// Mints `supply` tokens to the caller.
        #[ink(constructor)]
        pub fn new(
            supply: u128,
            name: Option<String>,
            symbol: Option<String>,
            decimals: u8,
        ) -> Self {
            let (data, events) = PSP22Data::new(supply, Self::env().caller());
            let contract = Self {
                data,
                name,
                symbol,
                decimals,
            };
            contract.emit_events(events);
            contract
        }

        fn emit_events(&self, events: Vec<PSP22Event>) {
            for event in events {
                match event {
                    PSP22Event::Transfer(e) => self.env().emit_event(e),
                    PSP22Event::Approval(e) => self.env().emit_event(e),
                }
            }
        }

        /// Runs a state change on the data and emits the events it reports.
        fn apply(
            &mut self,
            change: impl FnOnce(&mut PSP22Data) -> Result<Vec<PSP22Event>, PSP22Error>,
        ) -> Result<(), PSP22Error> {
            let events = change(&mut self.data)?;
            self.emit_events(events);
            Ok(())
        }
    }

    impl PSP22 for Token {
        #[ink(message)]
        fn total_supply(&self) -> u128 {
            self.data.total_supply()
        }

        #[ink(message)]
        fn balance_of(&self, owner: AccountId) -> u128 {
            self.data.balance_of(owner)
        }

        #[ink(message)]
        fn allowance(&self, owner: AccountId, spender: AccountId) -> u128 {
            self.data.allowance(owner, spender)
        }

        #[ink(message)]
        fn transfer(
            &mut self,
            to: AccountId,
            value: u128,
            _data: Vec<u8>,
        ) -> Result<(), PSP22Error> {
            let caller = self.env().caller();
            self.apply(|data| data.transfer(caller, to, value))
        }

        #[ink(message)]
        fn transfer_from(
            &mut self,
            from: AccountId,
            to: AccountId,
            value: u128,
            _data: Vec<u8>,
        ) -> Result<(), PSP22Error> {
            let caller = self.env().caller();
            self.apply(|data| data.transfer_from(caller, from, to, value))
        }

        #[ink(message)]
        fn approve(&mut self, spender: AccountId, value: u128) -> Result<(), PSP22Error> {
            let caller = self.env().caller();
            self.apply(|data| data.approve(caller, spender, value))
        }

        #[ink(message)]
        fn increase_allowance(
            &mut self,
            spender: AccountId,
            delta_value: u128,
        ) -> Result<(), PSP22Error> {
            let caller = self.env().caller();
            self.apply(|data| data.increase_allowance(caller, spender, delta_value))
        }

        #[ink(message)]
        fn decrease_allowance(
            &mut self,
            spender: AccountId,
            delta_value: u128,
        ) -> Result<(), PSP22Error> {
            let caller = self.env().caller();
            self.apply(|data| data.decrease_allowance(caller, spender, delta_value))
        }
    }

    impl PSP22Metadata for Token {
        #[ink(message)]
        fn token_name(&self) -> Option<String> {
            self.name.clone()
        }

        #[ink(message)]
        fn token_symbol(&self) -> Option<String> {
            self.symbol.clone()
        }

        #[ink(message)]
        fn token_decimals(&self) -> u8 {
            self.decimals
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use ink::env::{test, DefaultEnvironment};

        fn accounts() -> test::DefaultAccounts<DefaultEnvironment> {
            test::default_accounts::<DefaultEnvironment>()
        }

        fn deploy(supply: u128) -> Token {
            test::set_caller::<DefaultEnvironment>(accounts().alice);
            Token::new(supply, Some("Data".into()), Some("DATA".into()), 12)
        }

        #[ink::test]
        fn constructor_mints_to_caller_with_metadata() {
            let token = deploy(1_000);
            assert_eq!(token.total_supply(), 1_000);
            assert_eq!(token.balance_of(accounts().alice), 1_000);
            assert_eq!(token.token_symbol().as_deref(), Some("DATA"));
            assert_eq!(token.token_decimals(), 12);
            assert_eq!(test::recorded_events().count(), 1);
        }

        #[ink::test]
        fn transfer_moves_balance_and_refuses_overdraft() {
            let mut token = deploy(100);
            assert_eq!(token.transfer(accounts().bob, 40, Vec::new()), Ok(()));
            assert_eq!(token.balance_of(accounts().bob), 40);
            assert_eq!(
                token.transfer(accounts().bob, 61, Vec::new()),
                Err(PSP22Error::InsufficientBalance)
            );
            assert_eq!(token.balance_of(accounts().alice), 60);
        }

        #[ink::test]
        fn transfer_from_spends_allowance() {
            let mut token = deploy(100);
            let a = accounts();
            token.approve(a.bob, 30).unwrap();
            token.increase_allowance(a.bob, 10).unwrap();
            token.decrease_allowance(a.bob, 5).unwrap();
            assert_eq!(token.allowance(a.alice, a.bob), 35);
            test::set_caller::<DefaultEnvironment>(a.bob);
            assert_eq!(
                token.transfer_from(a.alice, a.charlie, 36, Vec::new()),
                Err(PSP22Error::InsufficientAllowance)
            );
            token
                .transfer_from(a.alice, a.charlie, 35, Vec::new())
                .unwrap();
            assert_eq!(token.balance_of(a.charlie), 35);
            assert_eq!(token.allowance(a.alice, a.bob), 0);
        }
    }
}
