/* HMAC-SHA256 over every value of an Arrow string array, in one call.
 *
 * Keyed pseudonyms are the hot spot of `apply`: DuckDB can only build HMAC from its
 * `sha256()` (four compressions per value in portable code, plus hex and blob round trips).
 * Here the padded key blocks are hashed once per call (the midstates), so each value costs
 * the two compressions HMAC itself needs, in OpenSSL's SHA-256 (SHA-NI where the CPU has
 * it). The result is the lowercase hex of the first `hexchars / 2` digest bytes, laid out
 * as an Arrow string data buffer (value i at i * hexchars).
 *
 *   hmac_hex(key, offsets, data, start, count, wide, hexchars) -> bytes
 *
 * key: the HMAC key (any length; hashed first if over 64 bytes, as HMAC does).
 * offsets: the Arrow offsets buffer (int32, or int64 when `wide`); data: the value bytes.
 * Values start..start+count-1 are hashed. The GIL is released while hashing.
 * No value is ever copied anywhere but into the hash state; errors name no value.
 */
#define PY_SSIZE_T_CLEAN
#define OPENSSL_API_COMPAT 0x10100000L
#include <Python.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <string.h>

static const char HEX[] = "0123456789abcdef";

static PyObject *hmac_hex(PyObject *self, PyObject *args) {
    Py_buffer key, offsets, data;
    Py_ssize_t start, count;
    int wide, hexchars;
    if (!PyArg_ParseTuple(args, "y*y*y*nnpi", &key, &offsets, &data, &start, &count, &wide, &hexchars))
        return NULL;
    PyObject *out = NULL;
    Py_ssize_t width = wide ? 8 : 4;
    /* Each comparison is arranged so that nothing can overflow: offsets.len / width is the
     * number of offsets present, and values start..start+count need count + 1 of them. */
    if (start < 0 || count < 0 || hexchars < 2 || hexchars > 64 || hexchars % 2 ||
        count > PY_SSIZE_T_MAX / 64 - 1 || start > offsets.len / width ||
        (count > 0 && count + 1 > offsets.len / width - start)) {
        PyErr_SetString(PyExc_ValueError, "hmac_hex: bad arguments");
        goto done;
    }
    const unsigned char *off = offsets.buf;
    for (Py_ssize_t i = start; i < start + count + (count > 0); i++) {
        int64_t o = wide ? ((const int64_t *)off)[i] : ((const int32_t *)off)[i];
        if (o < 0 || o > data.len) {
            PyErr_SetString(PyExc_ValueError, "hmac_hex: offsets out of range");
            goto done;
        }
    }
    out = PyBytes_FromStringAndSize(NULL, count * hexchars);
    if (!out) goto done;
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);

    unsigned char block[64] = {0}, pad[64];
    if (key.len > 64) SHA256(key.buf, key.len, block);
    else memcpy(block, key.buf, key.len);
    SHA256_CTX inner, outer, ctx;
    for (int j = 0; j < 64; j++) pad[j] = block[j] ^ 0x36;
    SHA256_Init(&inner);
    SHA256_Update(&inner, pad, 64);
    for (int j = 0; j < 64; j++) pad[j] = block[j] ^ 0x5c;
    SHA256_Init(&outer);
    SHA256_Update(&outer, pad, 64);

    const unsigned char *bytes = data.buf;
    int half = hexchars / 2;
    Py_BEGIN_ALLOW_THREADS
    unsigned char digest[SHA256_DIGEST_LENGTH];
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t k = start + i;
        int64_t a = wide ? ((const int64_t *)off)[k] : ((const int32_t *)off)[k];
        int64_t b = wide ? ((const int64_t *)off)[k + 1] : ((const int32_t *)off)[k + 1];
        if (b < a) b = a;  /* malformed: hash as empty (offsets were range-checked) */
        ctx = inner;
        SHA256_Update(&ctx, bytes + a, (size_t)(b - a));
        SHA256_Final(digest, &ctx);
        ctx = outer;
        SHA256_Update(&ctx, digest, sizeof digest);
        SHA256_Final(digest, &ctx);
        unsigned char *o = dst + i * hexchars;
        for (int j = 0; j < half; j++) {
            o[2 * j] = HEX[digest[j] >> 4];
            o[2 * j + 1] = HEX[digest[j] & 15];
        }
    }
    OPENSSL_cleanse(&ctx, sizeof ctx);
    OPENSSL_cleanse(digest, sizeof digest);
    Py_END_ALLOW_THREADS
    OPENSSL_cleanse(&inner, sizeof inner);
    OPENSSL_cleanse(&outer, sizeof outer);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    return out;
}

static PyMethodDef METHODS[] = {
    {"hmac_hex", hmac_hex, METH_VARARGS, "HMAC-SHA256 hex of Arrow string values (see the module source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_hmac", NULL, -1, METHODS};

PyMODINIT_FUNC PyInit__hmac(void) { return PyModule_Create(&MODULE); }
