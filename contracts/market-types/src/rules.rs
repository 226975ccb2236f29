//! The rules every offer and payment follows, checked by the contract and by clients
//! before they send a transaction.

use super::*;

/// Checks a ciphertext header by format v1's rules (magic, version, a chunk size that is
/// a power of two from 4 KiB to 256 KiB, at most 2^32 chunks), so that every chunk can
/// be disputed. A chunk size above 256 KiB has its own error.
pub fn check_header(header: &CiphertextHeader) -> Result<()> {
    match format::Header::from_bytes(header) {
        Ok(_) => Ok(()),
        Err(format::HeaderError::InvalidChunkSize(size)) if size > u64::from(MAX_CHUNK_SIZE) => {
            Err(Error::ChunkSizeTooLarge)
        }
        Err(_) => Err(Error::InvalidHeader),
    }
}

/// Checks metadata and URI against [`limits`].
pub fn check_metadata(uri: &str, metadata: &OfferMetadata) -> Result<()> {
    if metadata.title.is_empty() {
        return Err(Error::EmptyTitle);
    }
    if metadata.title.len() > limits::TITLE {
        return Err(Error::TitleTooLong);
    }
    if metadata.description.len() > limits::DESCRIPTION {
        return Err(Error::DescriptionTooLong);
    }
    if metadata.tags.len() > limits::TAGS {
        return Err(Error::TooManyTags);
    }
    if metadata
        .tags
        .iter()
        .any(|tag| tag.is_empty() || tag.len() > limits::TAG)
    {
        return Err(Error::InvalidTag);
    }
    if metadata.schema.len() > limits::SCHEMA {
        return Err(Error::SchemaTooLong);
    }
    check_uri(uri)?;
    let line = |text: &str| text.chars().any(char::is_control);
    let multiline = |text: &str| {
        text.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
    };
    if line(&metadata.title)
        || metadata.tags.iter().any(|tag| line(tag))
        || multiline(&metadata.description)
        || multiline(&metadata.schema)
    {
        return Err(Error::ControlCharacter);
    }
    Ok(())
}

/// Checks a URI (a ciphertext's, a job module's, a job result's): not empty, at most
/// [`limits::URI`] bytes, no control character.
pub fn check_uri(uri: &str) -> Result<()> {
    if uri.is_empty() || uri.len() > limits::URI {
        return Err(Error::InvalidUri);
    }
    if uri.chars().any(char::is_control) {
        return Err(Error::ControlCharacter);
    }
    Ok(())
}

/// Checks a revenue split: 1..=16 distinct payees, no zero share, summing to 10 000.
pub fn check_split(payees: &[Payee]) -> Result<()> {
    if payees.is_empty() {
        return Err(Error::NoPayees);
    }
    if payees.len() > MAX_PAYEES {
        return Err(Error::TooManyPayees);
    }
    let mut total: u32 = 0;
    for (i, payee) in payees.iter().enumerate() {
        if payee.bps == 0 {
            return Err(Error::ZeroShare);
        }
        if payees[..i].iter().any(|p| p.account == payee.account) {
            return Err(Error::DuplicatePayee);
        }
        total = total
            .checked_add(u32::from(payee.bps))
            .ok_or(Error::Overflow)?;
    }
    if total != u32::from(BPS_DENOMINATOR) {
        return Err(Error::SplitNotTotal);
    }
    Ok(())
}

/// Splits a settled payment: the fee first (rounded down), then each payee's share of
/// the rest (rounded down), with the rounding dust to the first payee. The credits and
/// the fee always sum to `amount` exactly.
pub fn split_payment(
    amount: Balance,
    fee_bps: u16,
    payees: &[Payee],
) -> Result<(Balance, Vec<(AccountId, Balance)>)> {
    let fee = mul_bps(amount, fee_bps)?;
    let rest = amount.checked_sub(fee).ok_or(Error::Overflow)?;
    let mut payouts = Vec::with_capacity(payees.len());
    let mut paid: Balance = 0;
    for payee in payees {
        let share = mul_bps(rest, payee.bps)?;
        paid = paid.checked_add(share).ok_or(Error::Overflow)?;
        payouts.push((payee.account, share));
    }
    let dust = rest.checked_sub(paid).ok_or(Error::Overflow)?;
    if let Some(first) = payouts.first_mut() {
        first.1 = first.1.checked_add(dust).ok_or(Error::Overflow)?;
    }
    Ok((fee, payouts))
}

/// `amount * bps / 10 000`, rounded down, without intermediate overflow for any u128.
fn mul_bps(amount: Balance, bps: u16) -> Result<Balance> {
    let denominator = Balance::from(BPS_DENOMINATOR);
    let bps = Balance::from(bps);
    // amount = q * d + r, so amount * bps / d = q * bps + r * bps / d; neither term overflows
    // for bps <= d.
    let whole = amount
        .checked_div(denominator)
        .and_then(|q| q.checked_mul(bps))
        .ok_or(Error::Overflow)?;
    let part = amount
        .checked_rem(denominator)
        .and_then(|r| r.checked_mul(bps))
        .and_then(|x| x.checked_div(denominator))
        .ok_or(Error::Overflow)?;
    whole.checked_add(part).ok_or(Error::Overflow)
}

/// Checks the marketplace's configuration: a fee at most [`MAX_FEE_BPS`], and delivery
/// and dispute periods from 1 to [`MAX_PERIOD_BLOCKS`] blocks.
pub fn check_config(config: &Config) -> Result<()> {
    if config.fee_bps > MAX_FEE_BPS {
        return Err(Error::FeeTooHigh);
    }
    let valid = |period: BlockNumber| (1..=MAX_PERIOD_BLOCKS).contains(&period);
    if !valid(config.delivery_period) || !valid(config.dispute_window) {
        return Err(Error::InvalidPeriod);
    }
    Ok(())
}
