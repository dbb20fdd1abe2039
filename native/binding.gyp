{
  "targets": [
    {
      "target_name": "interplay_native",
      "sources": ["src/addon.c", "src/attention.c", "src/gemm.c", "src/kernels.c", "src/decode.c", "src/bf16.c", "src/peak.c"],
      "defines": ["<!@(node ./detect-blas.mjs defines)"],
      "include_dirs": ["<!@(node ./detect-blas.mjs include_dirs)"],
      "libraries": ["<!@(node ./detect-blas.mjs libraries)"],
      "cflags!": ["-O2", "-O0"],
      "cflags": ["-O3", "-std=gnu11", "-ffp-contract=fast", "-fno-math-errno", "-Wno-unknown-pragmas"],
      "conditions": [
        ["OS=='linux'", {
          "cflags": ["-march=<!(node -p \"process.env.INTERPLAY_MARCH || 'native'\")", "-fopenmp"],
          "ldflags": ["-fopenmp"]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_OPTIMIZATION_LEVEL": "3",
            "OTHER_CFLAGS": ["-std=gnu11", "-ffp-contract=fast", "-fno-math-errno", "-Wno-unknown-pragmas"]
          }
        }]
      ]
    }
  ]
}
