//! One stored chunk (ciphertext ‖ tag) under AES-256-GCM with the STREAM nonce and
//! AAD = SHA-256(header), through the portable `aes-gcm` crate. The sealer's bulk path
//! seals and opens through `ring` instead (seven times faster here, same bytes); this
//! is the contract's path and the reference its tests compare with.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};

use crate::header::{Header, TAG_LEN};

/// Why a stored chunk does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    /// The stored bytes are not the length the header gives chunk `index`, or the index
    /// is out of range.
    WrongLength,
    /// The tag does not verify under the key, nonce and AAD.
    Authentication,
}

/// Opens chunk `index` of `header` in place: on success `stored[..len - 16]` holds the
/// plaintext. `aad` is SHA-256 of the header's bytes (the caller hashes them once for
/// every chunk, the contract through its host).
///
/// # Errors
/// [`ChunkError::WrongLength`], [`ChunkError::Authentication`] (the plaintext bytes are
/// then not released: `aes-gcm` leaves the buffer as it was).
pub fn open_in_place(
    dek: &[u8; 32],
    header: &Header,
    aad: &[u8; 32],
    index: u64,
    stored: &mut [u8],
) -> Result<(), ChunkError> {
    let (body, stored_tag) = split_stored(header, index, stored)?;
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(stored_tag);
    Aes256Gcm::new(dek.into())
        .decrypt_in_place_detached(
            &Nonce::from(header.chunk_nonce(index)),
            aad,
            body,
            &Tag::from(tag),
        )
        .map_err(|_| ChunkError::Authentication)
}

/// Seals chunk `index` of `header` in place: `stored[..len - 16]` holds the plaintext on
/// entry, and the whole of `stored` is the stored chunk on return.
///
/// # Errors
/// [`ChunkError::WrongLength`].
pub fn seal_in_place(
    dek: &[u8; 32],
    header: &Header,
    aad: &[u8; 32],
    index: u64,
    stored: &mut [u8],
) -> Result<(), ChunkError> {
    let (body, tag_out) = split_stored(header, index, stored)?;
    let tag = Aes256Gcm::new(dek.into())
        .encrypt_in_place_detached(&Nonce::from(header.chunk_nonce(index)), aad, body)
        .map_err(|_| ChunkError::WrongLength)?;
    tag_out.copy_from_slice(&tag);
    Ok(())
}

/// The body and the tag of stored chunk `index`, once its length is the header's.
fn split_stored<'a>(
    header: &Header,
    index: u64,
    stored: &'a mut [u8],
) -> Result<(&'a mut [u8], &'a mut [u8]), ChunkError> {
    if index >= header.chunk_count() || stored.len() != header.stored_chunk_len(index) {
        return Err(ChunkError::WrongLength);
    }
    let body_len = stored
        .len()
        .checked_sub(TAG_LEN)
        .ok_or(ChunkError::WrongLength)?;
    Ok(stored.split_at_mut(body_len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::ChunkSize;

    #[test]
    fn seals_and_opens_every_chunk_and_refuses_the_rest() {
        let header = Header::new(ChunkSize::new(4096).unwrap(), 5000, [3; 7]).unwrap();
        let aad = header.aad();
        let dek = [9u8; 32];
        for index in 0..2u64 {
            let len = header.stored_chunk_len(index);
            let mut stored = [0u8; 4096 + TAG_LEN];
            let stored = &mut stored[..len];
            stored[..len - TAG_LEN].fill(index as u8 + 1);
            seal_in_place(&dek, &header, &aad, index, stored).unwrap();
            let mut tampered = [0u8; 4096 + TAG_LEN];
            tampered[..len].copy_from_slice(stored);
            tampered[0] ^= 1;
            assert_eq!(
                open_in_place(&dek, &header, &aad, index, &mut tampered[..len]),
                Err(ChunkError::Authentication)
            );
            // The other index has the other nonce (and length).
            assert!(open_in_place(&dek, &header, &aad, 1 - index, stored).is_err());
            open_in_place(&dek, &header, &aad, index, stored).unwrap();
            assert!(stored[..len - TAG_LEN]
                .iter()
                .all(|&b| b == index as u8 + 1));
        }
        let mut short = [0u8; 10];
        assert_eq!(
            open_in_place(&dek, &header, &aad, 2, &mut short),
            Err(ChunkError::WrongLength)
        );
    }
}
