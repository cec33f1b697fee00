// Runs a wasm32-wasip1 program under Node.js's WASI (node:wasi), the way a WASI host would:
//   node scripts/wasi_run.mjs target/wasm/wasm32-wasip1/release/molt-state.wasm run
// Passes the arguments after the module to the program, inherits stdout/stderr, and exits
// with the program's exit code.
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import { argv, env, exit } from "node:process";

const [, , module, ...args] = argv;
if (!module) {
    console.error("usage: node scripts/wasi_run.mjs MODULE.wasm [ARGS...]");
    exit(2);
}
const wasi = new WASI({ version: "preview1", args: [module, ...args], env, returnOnExit: true });
const wasm = await WebAssembly.compile(await readFile(module));
const instance = await WebAssembly.instantiate(wasm, wasi.getImportObject());
exit(wasi.start(instance));
