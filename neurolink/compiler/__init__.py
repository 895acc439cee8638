"""The contract build: locating a solc (native or the solc-js shim) and compiling to artifacts."""
