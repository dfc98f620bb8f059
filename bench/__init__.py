"""The benchmark suite, apart from the tests: `make bench` (bench/README.md)."""
