//! Closing purchases (settle, refund) and paying out credits (withdraw, balance).

use std::fmt;

use chain::{
    market_types::{Asset, PurchaseId},
    AccountId, Balance, Signer,
};
use serde::Serialize;

use super::asset_name;
use crate::{address, market::Market, Result};

/// A purchase after `settle` or `refund`.
#[derive(Debug, Clone, Serialize)]
pub struct PurchaseClosed {
    /// The purchase.
    pub purchase_id: PurchaseId,
    /// Its status now.
    pub status: String,
    /// The amount it held.
    pub amount: Balance,
}

impl fmt::Display for PurchaseClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "purchase {} {} ({})",
            self.purchase_id, self.status, self.amount
        )
    }
}

/// Settles a delivered purchase after its dispute window (anyone may).
///
/// # Errors
/// An unknown purchase, or the marketplace's refusal.
pub fn settle(
    market: &mut Market,
    signer: &Signer,
    purchase_id: PurchaseId,
) -> Result<PurchaseClosed> {
    close(market, signer, purchase_id, "settle")
}

/// Refunds an undelivered purchase after its delivery deadline.
///
/// # Errors
/// An unknown purchase, or the marketplace's refusal.
pub fn refund(
    market: &mut Market,
    signer: &Signer,
    purchase_id: PurchaseId,
) -> Result<PurchaseClosed> {
    close(market, signer, purchase_id, "refund")
}

fn close(
    market: &mut Market,
    signer: &Signer,
    purchase_id: PurchaseId,
    message: &str,
) -> Result<PurchaseClosed> {
    market.purchase(purchase_id)?;
    market.call::<()>(
        signer,
        format!("{message} purchase {purchase_id}"),
        message,
        &purchase_id,
        0,
    )?;
    let purchase = market.purchase(purchase_id)?;
    Ok(PurchaseClosed {
        purchase_id,
        status: format!("{:?}", purchase.status).to_lowercase(),
        amount: purchase.amount,
    })
}

/// Payouts made by `withdraw`.
#[derive(Debug, Clone, Serialize)]
pub struct Withdrawn {
    /// The account paid.
    pub account: String,
    /// Asset and amount, per asset withdrawn.
    pub payouts: Vec<(String, Balance)>,
}

impl fmt::Display for Withdrawn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.payouts.is_empty() {
            return write!(f, "nothing to withdraw for {}", self.account);
        }
        let parts: Vec<String> = self
            .payouts
            .iter()
            .map(|(asset, amount)| format!("{amount} ({asset})"))
            .collect();
        write!(f, "withdrew {} to {}", parts.join(", "), self.account)
    }
}

/// Withdraws the signer's credits in the native asset and in `token`, if given.
///
/// # Errors
/// The marketplace's refusal.
pub fn withdraw(
    market: &mut Market,
    signer: &Signer,
    token: Option<AccountId>,
) -> Result<Withdrawn> {
    let me = signer.account_id();
    let mut payouts = Vec::new();
    for asset in std::iter::once(Asset::Native).chain(token.map(Asset::Psp22)) {
        if market.credit_of(me, asset)? == 0 {
            continue;
        }
        let amount = market.call::<Balance>(
            signer,
            format!("withdraw {}", asset_name(&asset)),
            "withdraw",
            &asset,
            0,
        )?;
        payouts.push((asset_name(&asset), amount));
    }
    Ok(Withdrawn {
        account: address::show(&me),
        payouts,
    })
}

/// An account's money.
#[derive(Debug, Clone, Serialize)]
pub struct Balances {
    /// The account.
    pub account: String,
    /// Free native balance.
    pub native: Balance,
    /// Native credits in the marketplace (withdrawable).
    pub native_credit: Balance,
    /// The token, if one is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Token balance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_balance: Option<Balance>,
    /// Token credits in the marketplace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_credit: Option<Balance>,
}

impl fmt::Display for Balances {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.account)?;
        write!(
            f,
            "  native  {} free, {} to withdraw",
            self.native, self.native_credit
        )?;
        if let (Some(token), Some(held), Some(credit)) =
            (&self.token, self.token_balance, self.token_credit)
        {
            write!(f, "\n  token   {held} held, {credit} to withdraw ({token})")?;
        }
        Ok(())
    }
}

/// `account`'s free balance and credits.
///
/// # Errors
/// The chain failing.
pub fn balance(
    market: &mut Market,
    account: AccountId,
    token: Option<AccountId>,
) -> Result<Balances> {
    let native = market.chain().free_balance(&account)?;
    let native_credit = market.credit_of(account, Asset::Native)?;
    let (token_balance, token_credit) = match token {
        Some(token) => (
            Some(market.token_balance(token, account)?),
            Some(market.credit_of(account, Asset::Psp22(token))?),
        ),
        None => (None, None),
    };
    Ok(Balances {
        account: address::show(&account),
        native,
        native_credit,
        token: token.map(|t| address::show(&t)),
        token_balance,
        token_credit,
    })
}
