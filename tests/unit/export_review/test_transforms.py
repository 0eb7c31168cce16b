import base64
import hashlib

from hypothesis import given, strategies as st

from export_review.checks.transforms import INVERSES, candidates, ciphertext_shape, digest_shape


@given(st.text(alphabet=st.characters(min_codepoint=0x4e00, max_codepoint=0x9fa5), min_size=2, max_size=4))
def test_base64_hex_and_reversal_are_inverted(name):
    encoded = {"base64": base64.b64encode(name.encode()).decode(), "hex": name.encode().hex(),
               "reversed": name[::-1]}
    for transform, value in encoded.items():
        if value != name:
            assert (transform, name) in candidates([value])


def test_shifts_and_rotations_are_inverted():
    phone = "13812345678"
    shifted = "".join(chr(ord(c) + 3) for c in phone)
    rotated = "".join(str((int(c) + 4) % 10) for c in phone)
    assert ("char shift +3", phone) in candidates([shifted])
    assert ("digit rotation 4", phone) in candidates([rotated])


def test_short_numbers_are_not_decoded():
    assert candidates(["4524", "12.5", "1,200"]) == []


def test_digest_shapes():
    ids = [f"33010619900101{i:04d}" for i in range(50)]
    assert digest_shape([hashlib.sha256(v.encode()).hexdigest() for v in ids]) == "sha256"
    assert digest_shape([hashlib.md5(v.encode()).hexdigest().upper() for v in ids]) == "md5"
    assert digest_shape([hashlib.sha1(v.encode()).hexdigest() for v in ids]) == "sha1"
    assert digest_shape([hashlib.sha512(v.encode()).hexdigest() for v in ids]) == "sha512"
    assert digest_shape([base64.b64encode(hashlib.sha256(v.encode()).digest()).decode() for v in ids]) \
        == "sha256 (base64)"
    assert digest_shape(["西湖区", "滨江区"]) is None


def test_presidio_encrypt_output_looks_like_ciphertext():
    from presidio_anonymizer.operators.aes_cipher import AESCipher

    key = b"0123456789abcdef"
    values = [AESCipher.encrypt(key, f"张三{i}") for i in range(40)]
    assert ciphertext_shape(values) == "block cipher output"
    assert ciphertext_shape([base64.b64encode(f"plain text {i}".encode()).decode() for i in range(40)]) is None


def test_every_inverse_is_total_on_odd_input():
    for inverse in INVERSES.values():
        for value in ("", "=", "\x00", "🙂", "zz", "A" * 3):
            inverse(value)  # never raises
