// Hardhat 2 configuration (CommonJS: the package is "type": "module").
//
// The Solidity compiler is the npm package `solc` (solc-js, WASM), so that
// `npx hardhat compile` works offline and on every machine without Hardhat's
// own compiler download (see shared/PLATFORM.md). The configured version is
// read from that package, so the two cannot disagree.
require('@nomicfoundation/hardhat-ethers');

const { subtask } = require('hardhat/config');
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require('hardhat/builtin-tasks/task-names');

const SOLC_VERSION = require('solc/package.json').version;

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async ({ solcVersion }) => {
  if (solcVersion !== SOLC_VERSION) {
    throw new Error(`hardhat.config.cjs: solidity.version ${solcVersion} differs from the installed npm package solc@${SOLC_VERSION}`);
  }
  const solc = require('solc');
  return {
    compilerPath: require.resolve('solc/soljson.js'),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: solc.version(),
  };
});

/** @type {import('hardhat/config').HardhatUserConfig} */
module.exports = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      // OpenZeppelin 5 uses `mcopy` (Cancun); the Hardhat 2 default `paris` cannot compile it.
      evmVersion: 'cancun',
      optimizer: { enabled: true, runs: 200 },
    },
  },
  networks: {
    hardhat: {
      hardfork: 'cancun',
    },
  },
  paths: {
    sources: './contracts',
    tests: './test/contract',
    cache: './cache',
    artifacts: './artifacts',
  },
};
