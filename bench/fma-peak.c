// The CPU's FP32 arithmetic ceiling, for reading the forward-pass rates in
// docs/benchmarks.md: two threads, each running 12 independent chains of AVX-512
// fused multiply-adds (16 lanes, 2 FLOPs each), so nothing but the FMA units limits it.
// gcc -O2 -mavx512f -fopenmp bench/fma-peak.c -o /tmp/fma-peak && /tmp/fma-peak
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>

int main(void) {
  const long iters = 200000000;
  double flops = 0;
  double start = omp_get_wtime();
#pragma omp parallel num_threads(2) reduction(+ : flops)
  {
    __m512 acc[12];
    for (int k = 0; k < 12; k++) acc[k] = _mm512_set1_ps(1.0f + k * 1e-3f);
    const __m512 b = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(1e-6f);
    for (long i = 0; i < iters; i++) {
#pragma GCC unroll 12
      for (int k = 0; k < 12; k++) acc[k] = _mm512_fmadd_ps(acc[k], b, c);
    }
    float sum = 0;
    for (int k = 0; k < 12; k++) sum += _mm512_reduce_add_ps(acc[k]);
    if (sum == 12345.0f) printf("-");  // keeps the loop from being optimised away
    flops = (double)iters * 12 * 16 * 2;
  }
  printf("%.1f GFLOP/s FP32 (2 threads, AVX-512 FMA)\n", flops / (omp_get_wtime() - start) / 1e9);
  return 0;
}
