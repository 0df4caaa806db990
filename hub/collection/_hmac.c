/* HMAC-SHA256 of every value of an Arrow string array in one call, without the interpreter lock.
 *
 * Why: pseudonymising a file is one HMAC per distinct identifier (about 3 million for a weekly campsite export),
 * and per value the interpreter's own loop costs about 0.65 us of which most is calling and allocating, holding
 * the lock that the checking threads need. Here each value is two struct copies of a precomputed SHA-256 state and
 * two or three compressions with the CPU's SHA instructions (OpenSSL picks them at run time).
 *
 * mac_strings(key_block, prefix, offsets, data, out)
 *   key_block  64 bytes: the HMAC key padded with zeros (a longer key is hashed first, by the caller)
 *   prefix     bytes hashed before each value (namespace 0x1f version 0x1f)
 *   offsets    int32 buffer of n + 1 Arrow offsets into data (already shifted by the array's offset)
 *   data       the values' bytes
 *   out        writable buffer of n * 32 bytes, receives the digests in order
 */
#define PY_SSIZE_T_CLEAN
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init & co.: the EVP layer allocates a context per copy */
#include <Python.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <string.h>

static PyObject *mac_strings(PyObject *self, PyObject *args) {
    Py_buffer key, prefix, offsets, data, out;
    if (!PyArg_ParseTuple(args, "y*y*y*y*w*", &key, &prefix, &offsets, &data, &out))
        return NULL;
    PyObject *result = NULL;
    if (key.len != SHA256_CBLOCK) {
        PyErr_SetString(PyExc_ValueError, "key_block must be 64 bytes");
        goto done;
    }
    if (offsets.len % 4 != 0 || offsets.len < 4) {
        PyErr_SetString(PyExc_ValueError, "offsets must hold n + 1 int32 values");
        goto done;
    }
    Py_ssize_t n = offsets.len / 4 - 1;
    if (out.len != n * SHA256_DIGEST_LENGTH) {
        PyErr_SetString(PyExc_ValueError, "out must be n * 32 bytes");
        goto done;
    }
    const int32_t *off = (const int32_t *)offsets.buf;
    for (Py_ssize_t i = 0; i < n; i++) { /* never read outside data, whatever the caller passed */
        if (off[i] < 0 || off[i + 1] < off[i] || off[i + 1] > data.len) {
            PyErr_SetString(PyExc_ValueError, "offsets are not increasing within data");
            goto done;
        }
    }
    const unsigned char *k = (const unsigned char *)key.buf;
    unsigned char pad[SHA256_CBLOCK];
    SHA256_CTX inner, outer;
    for (int i = 0; i < SHA256_CBLOCK; i++) pad[i] = k[i] ^ 0x36;
    SHA256_Init(&inner);
    SHA256_Update(&inner, pad, SHA256_CBLOCK);
    SHA256_Update(&inner, prefix.buf, (size_t)prefix.len);
    for (int i = 0; i < SHA256_CBLOCK; i++) pad[i] = k[i] ^ 0x5c;
    SHA256_Init(&outer);
    SHA256_Update(&outer, pad, SHA256_CBLOCK);
    memset(pad, 0, sizeof pad);

    const unsigned char *bytes = (const unsigned char *)data.buf;
    unsigned char *dst = (unsigned char *)out.buf;
    Py_BEGIN_ALLOW_THREADS
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256_CTX c;
    for (Py_ssize_t i = 0; i < n; i++) {
        c = inner;
        SHA256_Update(&c, bytes + off[i], (size_t)(off[i + 1] - off[i]));
        SHA256_Final(digest, &c);
        c = outer;
        SHA256_Update(&c, digest, SHA256_DIGEST_LENGTH);
        SHA256_Final(dst + i * SHA256_DIGEST_LENGTH, &c);
    }
    Py_END_ALLOW_THREADS
    memset(&inner, 0, sizeof inner);
    memset(&outer, 0, sizeof outer);
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&prefix);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    PyBuffer_Release(&out);
    return result;
}

static PyMethodDef methods[] = {
    {"mac_strings", mac_strings, METH_VARARGS,
     "mac_strings(key_block, prefix, offsets, data, out): HMAC-SHA256(key, prefix + value) of each value, "
     "written to out (n * 32 bytes); releases the interpreter lock."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_hmac", "Batched HMAC-SHA256 over Arrow strings.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__hmac(void) { return PyModule_Create(&module); }
