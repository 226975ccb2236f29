use super::*;

fn payee(byte: u8, bps: u16) -> Payee {
    Payee {
        account: AccountId::from([byte; 32]),
        bps,
    }
}

fn header(chunk_size: u32) -> CiphertextHeader {
    let mut h = [0u8; HEADER_LEN];
    h[..6].copy_from_slice(&HEADER_MAGIC);
    h[6] = FORMAT_VERSION;
    h[7..11].copy_from_slice(&chunk_size.to_be_bytes());
    h
}

#[test]
fn split_sums_to_amount_with_dust_to_first_payee() {
    let payees = [payee(1, 3_333), payee(2, 3_333), payee(3, 3_334)];
    let (fee, payouts) = split_payment(1_000_001, 250, &payees).unwrap();
    assert_eq!(fee, 25_000);
    let rest = 1_000_001 - 25_000;
    assert_eq!(payouts[1].1, rest * 3_333 / 10_000);
    assert_eq!(payouts[2].1, rest * 3_334 / 10_000);
    let total: u128 = payouts.iter().map(|p| p.1).sum::<u128>() + fee;
    assert_eq!(total, 1_000_001);
    assert_eq!(payouts[0].1, rest - payouts[1].1 - payouts[2].1);
}

#[test]
fn split_of_max_amount_does_not_overflow() {
    let payees = [payee(1, 1), payee(2, 9_999)];
    let (fee, payouts) = split_payment(u128::MAX, MAX_FEE_BPS, &payees).unwrap();
    let total = payouts
        .iter()
        .try_fold(fee, |acc, p| acc.checked_add(p.1))
        .unwrap();
    assert_eq!(total, u128::MAX);
}

#[test]
fn split_checks_each_rule() {
    assert_eq!(check_split(&[]), Err(Error::NoPayees));
    let many: Vec<_> = (0..17).map(|i| payee(i, 1)).collect();
    assert_eq!(check_split(&many), Err(Error::TooManyPayees));
    assert_eq!(
        check_split(&[payee(1, 0), payee(2, 10_000)]),
        Err(Error::ZeroShare)
    );
    assert_eq!(
        check_split(&[payee(1, 5_000), payee(1, 5_000)]),
        Err(Error::DuplicatePayee)
    );
    assert_eq!(
        check_split(&[payee(1, 5_000), payee(2, 4_999)]),
        Err(Error::SplitNotTotal)
    );
    assert_eq!(
        check_split(&[payee(1, u16::MAX), payee(2, u16::MAX)]),
        Err(Error::SplitNotTotal)
    );
    let sixteen: Vec<_> = (0..16).map(|i| payee(i, 625)).collect();
    assert_eq!(check_split(&sixteen), Ok(()));
}

#[test]
fn header_rules() {
    assert_eq!(check_header(&header(64 * 1024)), Ok(()));
    assert_eq!(check_header(&header(4 * 1024)), Ok(()));
    assert_eq!(check_header(&header(256 * 1024)), Ok(()));
    assert_eq!(
        check_header(&header(512 * 1024)),
        Err(Error::ChunkSizeTooLarge)
    );
    assert_eq!(check_header(&header(2 * 1024)), Err(Error::InvalidHeader));
    assert_eq!(check_header(&header(5 * 1024)), Err(Error::InvalidHeader));
    let mut bad = header(64 * 1024);
    bad[0] = b'X';
    assert_eq!(check_header(&bad), Err(Error::InvalidHeader));
    let mut v2 = header(64 * 1024);
    v2[6] = 2;
    assert_eq!(check_header(&v2), Err(Error::InvalidHeader));
    // 2^32 chunks is the most the u32 STREAM counter numbers.
    let mut long = header(4 * 1024);
    long[11..19].copy_from_slice(&(4096u64 << 32).to_be_bytes());
    assert_eq!(check_header(&long), Ok(()));
    long[11..19].copy_from_slice(&((4096u64 << 32) + 1).to_be_bytes());
    assert_eq!(check_header(&long), Err(Error::InvalidHeader));
}

#[test]
fn chunk_bytes_encode_as_a_vec_and_hash_their_leaf_in_place() {
    use scale::{Decode, Encode};
    let chunk: Vec<u8> = (0..100u8).collect();
    let encoded = chunk.encode();
    assert_eq!(ChunkBytes::new(&chunk).encode(), encoded);
    let mut decoded = ChunkBytes::decode(&mut &encoded[..]).unwrap();
    assert_eq!(decoded.chunk(), &chunk[..]);
    let mut leaf = vec![0u8];
    leaf.extend_from_slice(&7u64.to_be_bytes());
    leaf.extend_from_slice(&chunk);
    assert_eq!(decoded.leaf_preimage(7), &leaf[..]);
    let too_long = vec![0u8; ChunkBytes::MAX_LEN + 1].encode();
    assert!(ChunkBytes::decode(&mut &too_long[..]).is_err());
    assert!(ChunkBytes::decode(&mut &encoded[..50]).is_err());
}

#[test]
fn metadata_rules() {
    let ok = OfferMetadata {
        title: "t".into(),
        ..Default::default()
    };
    assert_eq!(check_metadata("file://x", &ok), Ok(()));
    assert_eq!(check_metadata("", &ok), Err(Error::InvalidUri));
    let mut m = ok.clone();
    m.title = String::new();
    assert_eq!(check_metadata("u", &m), Err(Error::EmptyTitle));
    m.title = "x".repeat(limits::TITLE + 1);
    assert_eq!(check_metadata("u", &m), Err(Error::TitleTooLong));
    let mut m = ok.clone();
    m.description = "x".repeat(limits::DESCRIPTION + 1);
    assert_eq!(check_metadata("u", &m), Err(Error::DescriptionTooLong));
    let mut m = ok.clone();
    m.tags = (0..=limits::TAGS).map(|i| i.to_string()).collect();
    assert_eq!(check_metadata("u", &m), Err(Error::TooManyTags));
    m.tags = vec!["x".repeat(limits::TAG + 1)];
    assert_eq!(check_metadata("u", &m), Err(Error::InvalidTag));
    let mut m = ok.clone();
    m.schema = "x".repeat(limits::SCHEMA + 1);
    assert_eq!(check_metadata("u", &m), Err(Error::SchemaTooLong));
}

#[test]
fn control_characters_are_refused_but_descriptions_keep_lines_and_tabs() {
    let ok = OfferMetadata {
        title: "Steps, 2024".into(),
        description: "Daily steps.\n\tOne row a day.".into(),
        tags: vec!["health".into()],
        schema: "date\tsteps\n".into(),
        ..Default::default()
    };
    assert_eq!(check_metadata("file://x", &ok), Ok(()));
    assert_eq!(
        check_metadata("file://x\n", &ok),
        Err(Error::ControlCharacter)
    );
    type Put = fn(&mut OfferMetadata, &str);
    let fields: [(&str, Put); 4] = [
        ("title", |m, bad| m.title = format!("Steps{bad}")),
        ("tag", |m, bad| m.tags = vec![format!("a{bad}")]),
        ("description", |m, bad| m.description.push_str(bad)),
        ("schema", |m, bad| m.schema.push_str(bad)),
    ];
    for bad in ["\0", "\x1b[2J", "\r", "\x7f", "\u{9b}"] {
        for (field, put) in fields {
            let mut m = ok.clone();
            put(&mut m, bad);
            assert_eq!(
                check_metadata("u", &m),
                Err(Error::ControlCharacter),
                "{field}: {bad:?}"
            );
        }
    }
    let mut m = ok;
    m.title = "Steps\n".into();
    assert_eq!(check_metadata("u", &m), Err(Error::ControlCharacter));
}
