/* Reference (scalar) kernels; to be replaced by the vectorised polynomial. */
#include "mcinr_kernels.h"
#include <math.h>

void mcinr_sine_forward(float *x, const float *bias, size_t rows, size_t width, float omega,
                        float *cos_out) {
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < width; j++) {
            size_t i = r * width + j;
            float z = omega * (x[i] + (bias ? bias[j] : 0.0f));
            x[i] = sinf(z);
            if (cos_out) cos_out[i] = cosf(z);
        }
    }
}

void mcinr_add_bias(float *x, const float *bias, size_t rows, size_t width) {
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < width; j++) x[r * width + j] += bias[j];
}

void mcinr_positional_encoding(const float *x, size_t rows, unsigned L, float *out) {
    const size_t w = mcinr_encoding_width(L);
    for (size_t r = 0; r < rows; r++) {
        const float *in = x + r * 4;
        float *o = out + r * w;
        for (int i = 0; i < 4; i++) o[i] = in[i];
        for (unsigned k = 0; k < L; k++) {
            float f = (float)(1u << k) * 3.14159265358979f;
            for (int i = 0; i < 4; i++) {
                o[4 + 8 * k + i] = sinf(f * in[i]);
                o[8 + 8 * k + i] = cosf(f * in[i]);
            }
        }
    }
}
