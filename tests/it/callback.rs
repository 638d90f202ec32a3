//! Callback crypto (feature `callback`): the official WXBizMsgCrypt sample vectors, round
//! trips, every kind of bad input refused with a typed error (never a panic, never a
//! decryption), event parsing, and a property test over the decrypt path.
#![cfg(feature = "callback")]

use std::time::{Duration, UNIX_EPOCH};

use aes::Aes256;
use base64::Engine;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
use proptest::prelude::*;
use sha1::{Digest, Sha1};
use wecom_kf::callback::{CallbackCrypto, CallbackError, CallbackEvent, MAX_BODY_BYTES};
use wecom_kf::clock::ManualClock;

const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP: &str = "wx5823bf96d3bd56c7";
const ENCRYPTED: &str = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";

fn sample() -> CallbackCrypto {
    CallbackCrypto::new(TOKEN, KEY, CORP)
        .unwrap()
        .without_replay_window()
}

fn envelope(encrypted: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
    )
}

fn sign(timestamp: &str, nonce: &str, encrypted: &str) -> String {
    let mut parts = [TOKEN, timestamp, nonce, encrypted];
    parts.sort_unstable();
    Sha1::digest(parts.concat().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The sample's key, for crafting ciphertexts the SDK must refuse.
fn key() -> Vec<u8> {
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    )
    .decode(format!("{KEY}="))
    .unwrap()
}

/// Encrypts `plain` as is (the caller frames and pads it), as base64.
fn raw_encrypt(plain: &[u8]) -> String {
    let key = key();
    let mut buf = plain.to_vec();
    let n = buf.len();
    let sealed = cbc::Encryptor::<Aes256>::new_from_slices(&key, &key[..16])
        .unwrap()
        .encrypt_padded::<NoPadding>(&mut buf, n)
        .unwrap()
        .to_vec();
    base64::engine::general_purpose::STANDARD.encode(sealed)
}

/// 16 random bytes ‖ length ‖ message ‖ receive id, padded with `pad` (to 32-byte blocks).
fn framed(length: u32, message: &[u8], receive_id: &[u8]) -> Vec<u8> {
    let mut plain = vec![9u8; 16];
    plain.extend(length.to_be_bytes());
    plain.extend(message);
    plain.extend(receive_id);
    let pad = 32 - plain.len() % 32;
    plain.extend(std::iter::repeat_n(pad as u8, pad));
    plain
}

fn decrypt_crafted(crypto: &CallbackCrypto, encrypted: &str) -> Result<String, CallbackError> {
    let signature = sign("1409659813", "1372623149", encrypted);
    crypto.decrypt(
        &signature,
        "1409659813",
        "1372623149",
        envelope(encrypted).as_bytes(),
    )
}

/// The `MsgSignature` of an envelope made by `encrypt`.
fn signature_in(envelope: &str) -> String {
    envelope
        .split("<MsgSignature><![CDATA[")
        .nth(1)
        .and_then(|s| s.split("]]>").next())
        .unwrap()
        .to_owned()
}

#[test]
fn the_official_sample_event_decrypts() {
    let xml = sample()
        .decrypt(
            "477715d11cdb4164915debcba66cb864d751f3e6",
            "1409659813",
            "1372623149",
            envelope(ENCRYPTED).as_bytes(),
        )
        .unwrap();
    assert_eq!(
        xml,
        "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>"
    );
    let event = CallbackEvent::parse(&xml).unwrap();
    assert!(matches!(event, CallbackEvent::Other { ref msg_type, .. } if msg_type == "text"));
}

#[test]
fn a_reply_encrypts_into_an_envelope_that_decrypts() {
    let crypto = sample();
    let reply = "<xml><Content><![CDATA[你好 & bye]]></Content></xml>";
    let sealed = crypto.encrypt(reply, "1700000000", "nonce1").unwrap();
    let signature = signature_in(&sealed);
    let opened = crypto
        .decrypt(&signature, "1700000000", "nonce1", sealed.as_bytes())
        .unwrap();
    assert_eq!(opened, reply);
    // A timestamp and nonce that look like markup stay text.
    let odd = crypto.encrypt(reply, "1<2", "a]]><x").unwrap();
    assert!(
        odd.contains("<TimeStamp>1&lt;2</TimeStamp><Nonce>a]]&gt;&lt;x</Nonce>"),
        "{odd}"
    );
    assert_eq!(
        crypto
            .decrypt(&signature_in(&odd), "1<2", "a]]><x", odd.as_bytes())
            .as_deref(),
        Ok(reply)
    );
    // A fresh random prefix each time.
    assert_ne!(
        sealed,
        crypto.encrypt(reply, "1700000000", "nonce1").unwrap()
    );
}

#[test]
fn bad_signatures_and_envelopes_are_refused_before_decrypting() {
    let crypto = sample();
    let body = envelope(ENCRYPTED);
    let wrong = "477715d11cdb4164915debcba66cb864d751f3e7";
    assert_eq!(
        crypto.decrypt(wrong, "1409659813", "1372623149", body.as_bytes()),
        Err(CallbackError::BadSignature)
    );
    assert_eq!(
        crypto.decrypt("short", "1409659813", "1372623149", body.as_bytes()),
        Err(CallbackError::BadSignature)
    );
    // The same signature over another nonce.
    assert_eq!(
        crypto.decrypt(
            "477715d11cdb4164915debcba66cb864d751f3e6",
            "1409659813",
            "1",
            body.as_bytes()
        ),
        Err(CallbackError::BadSignature)
    );
    let xml_errors = [
        "<xml><ToUserName>x</ToUserName></xml>".to_owned(),
        format!("<xml><Encrypt>{ENCRYPTED}</Encrypt><Encrypt>{ENCRYPTED}</Encrypt></xml>"),
        format!(
            "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xml><Encrypt>{ENCRYPTED}</Encrypt></xml>"
        ),
        format!("<xml><Encrypt>{ENCRYPTED}</Encrypt>"),
        "not xml at all <<<".to_owned(),
        "<xml><Encrypt>&unknown;</Encrypt></xml>".to_owned(),
    ];
    for body in xml_errors {
        assert!(
            matches!(
                crypto.decrypt("x", "1", "1", body.as_bytes()),
                Err(CallbackError::Xml(_))
            ),
            "{body}"
        );
    }
    let huge = vec![b'a'; MAX_BODY_BYTES + 1];
    assert_eq!(
        crypto.decrypt("x", "1", "1", &huge),
        Err(CallbackError::TooLarge)
    );
}

#[test]
fn bad_ciphertexts_are_refused_with_their_reason() {
    let crypto = sample();
    // Validly signed, but not base64, or not whole blocks.
    assert_eq!(
        decrypt_crafted(&crypto, "@@@not base64@@@"),
        Err(CallbackError::BadCiphertext)
    );
    let half_block = base64::engine::general_purpose::STANDARD.encode([1u8; 24]);
    assert_eq!(
        decrypt_crafted(&crypto, &half_block),
        Err(CallbackError::BadCiphertext)
    );
    // Padding: a zero pad byte, a pad over 32, an inconsistent pad.
    let mut zero_pad = framed(2, b"hi", CORP.as_bytes());
    *zero_pad.last_mut().unwrap() = 0;
    assert_eq!(
        decrypt_crafted(&crypto, &raw_encrypt(&zero_pad)),
        Err(CallbackError::BadPadding)
    );
    let mut big_pad = framed(2, b"hi", CORP.as_bytes());
    *big_pad.last_mut().unwrap() = 33;
    assert_eq!(
        decrypt_crafted(&crypto, &raw_encrypt(&big_pad)),
        Err(CallbackError::BadPadding)
    );
    let mut uneven = framed(2, b"hi", CORP.as_bytes());
    let n = uneven.len();
    uneven[n - 2] ^= 1;
    assert_eq!(
        decrypt_crafted(&crypto, &raw_encrypt(&uneven)),
        Err(CallbackError::BadPadding)
    );
    // Length field beyond the plaintext; message not UTF-8.
    let too_long = framed(10_000, b"hi", CORP.as_bytes());
    assert_eq!(
        decrypt_crafted(&crypto, &raw_encrypt(&too_long)),
        Err(CallbackError::BadLength)
    );
    let not_utf8 = framed(2, &[0xff, 0xfe], CORP.as_bytes());
    assert_eq!(
        decrypt_crafted(&crypto, &raw_encrypt(&not_utf8)),
        Err(CallbackError::BadLength)
    );
    // Another corp's message.
    let other = framed(2, b"hi", b"wwsomeoneelse");
    assert_eq!(
        decrypt_crafted(&crypto, &raw_encrypt(&other)),
        Err(CallbackError::WrongReceiver)
    );
    // And the framing that is right decrypts.
    let right = framed(2, b"hi", CORP.as_bytes());
    assert_eq!(
        decrypt_crafted(&crypto, &raw_encrypt(&right)).as_deref(),
        Ok("hi")
    );
}

#[test]
fn the_official_url_verification_and_a_wrong_receiver() {
    let echostr =
        "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
    let args = (
        "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
        "1409659589",
        "263014780",
    );
    assert_eq!(
        sample()
            .verify_url(args.0, args.1, args.2, echostr)
            .as_deref(),
        Ok("1616140317555161061")
    );
    let other_corp = CallbackCrypto::new(TOKEN, KEY, "wwother")
        .unwrap()
        .without_replay_window();
    assert_eq!(
        other_corp.verify_url(args.0, args.1, args.2, echostr),
        Err(CallbackError::WrongReceiver)
    );
}

#[test]
fn timestamps_outside_the_replay_window_are_refused() {
    let sent = 1_700_000_000u64;
    let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(sent));
    let crypto = CallbackCrypto::new(TOKEN, KEY, CORP)
        .unwrap()
        .replay_window(Duration::from_secs(300))
        .clock(clock.clone());
    let sealed = sample().encrypt("<xml/>", &sent.to_string(), "n").unwrap();
    let signature = signature_in(&sealed);
    let open = |ts: &str| crypto.decrypt(&signature, ts, "n", sealed.as_bytes());
    assert_eq!(open(&sent.to_string()).as_deref(), Ok("<xml/>"));
    clock.advance(Duration::from_secs(301));
    assert_eq!(open(&sent.to_string()), Err(CallbackError::Stale));
    // A timestamp that is not a number: the signature fails first if it changed, so sign it.
    let weird = CallbackCrypto::new(TOKEN, KEY, CORP).unwrap();
    let sealed = sample().encrypt("<xml/>", "soon", "n").unwrap();
    let signature = signature_in(&sealed);
    assert_eq!(
        weird.decrypt(&signature, "soon", "n", sealed.as_bytes()),
        Err(CallbackError::Stale)
    );
}

#[test]
fn settings_are_checked() {
    assert!(matches!(
        CallbackCrypto::new("", KEY, CORP),
        Err(CallbackError::Config(_))
    ));
    assert!(matches!(
        CallbackCrypto::new(TOKEN, &KEY[..42], CORP),
        Err(CallbackError::Config(_))
    ));
    assert!(matches!(
        CallbackCrypto::new(TOKEN, &"!".repeat(43), CORP),
        Err(CallbackError::Config(_))
    ));
    let shown = format!("{:?}", sample());
    assert!(!shown.contains(TOKEN) && !shown.contains(KEY), "{shown}");
}

#[test]
fn kf_events_are_typed_and_others_kept_whole() {
    let xml = "<xml><ToUserName><![CDATA[ww12345678910]]></ToUserName><CreateTime>1348831860</CreateTime>\n<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>\n<Token><![CDATA[ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR]]></Token>\n<OpenKfId><![CDATA[wkxxxxxxx]]></OpenKfId></xml>";
    assert_eq!(
        CallbackEvent::parse(xml).unwrap(),
        CallbackEvent::KfMsgOrEvent {
            corp_id: "ww12345678910".into(),
            create_time: 1_348_831_860,
            token: "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR".into(),
            open_kfid: Some("wkxxxxxxx".into()),
        }
    );
    let older = "<xml><ToUserName>ww1</ToUserName><MsgType>event</MsgType><Event>kf_msg_or_event</Event><Token>T</Token></xml>";
    assert!(matches!(
        CallbackEvent::parse(older).unwrap(),
        CallbackEvent::KfMsgOrEvent {
            open_kfid: None,
            ..
        }
    ));
    let other = "<xml><MsgType>event</MsgType><Event>change_external_contact</Event><Nested><A>1</A></Nested></xml>";
    assert_eq!(
        CallbackEvent::parse(other).unwrap(),
        CallbackEvent::Other {
            msg_type: "event".into(),
            event: Some("change_external_contact".into()),
            xml: other.into(),
        }
    );
    let escaped = "<xml><MsgType>text</MsgType><Content>a &amp; b &#x4e2d;</Content></xml>";
    assert!(CallbackEvent::parse(escaped).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any ciphertext, however malformed, with a signature that matches: refused, never a
    /// panic (random bytes cannot end in this corp's receive id); any unsigned body refused.
    #[test]
    fn the_decrypt_path_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let crypto = sample();
        let encrypted = base64::engine::general_purpose::STANDARD.encode(&bytes);
        prop_assert!(decrypt_crafted(&crypto, &encrypted).is_err());
        prop_assert!(crypto.decrypt("x", "1", "1", &bytes).is_err());
        let _ = CallbackEvent::parse(&String::from_utf8_lossy(&bytes));
    }

    /// Well-padded plaintexts with any length field and receive id: a message comes out only
    /// when the length field is the message's and the receive id is this corp's.
    #[test]
    fn only_a_true_length_and_receive_id_open(
        length in prop_oneof![Just(None), any::<u32>().prop_map(Some)],
        message in "[a-z<>/]{0,80}",
        own_receiver in any::<bool>(),
    ) {
        let crypto = sample();
        let receiver: &[u8] = if own_receiver { CORP.as_bytes() } else { b"wwsomeoneelse" };
        let declared = length.unwrap_or(message.len() as u32);
        let sealed = raw_encrypt(&framed(declared, message.as_bytes(), receiver));
        let opened = decrypt_crafted(&crypto, &sealed);
        if declared as usize == message.len() && own_receiver {
            prop_assert_eq!(opened, Ok(message));
        } else {
            prop_assert!(opened.is_err(), "{:?}", opened);
        }
    }

    /// Whatever is sealed opens to itself.
    #[test]
    fn sealing_round_trips(message in "\\PC{0,300}") {
        let crypto = sample();
        let sealed = crypto.encrypt(&message, "1", "n").unwrap();
        let signature = signature_in(&sealed);
        prop_assert_eq!(crypto.decrypt(&signature, "1", "n", sealed.as_bytes()).unwrap(), message);
    }
}
