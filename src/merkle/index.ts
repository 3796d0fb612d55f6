export { hashLeaf, hashChildren, emptyRoot, HASH_SIZE } from './hasher.js';
export { MerkleTree, MAX_TREE_SIZE, MAX_PROOF_LENGTH } from './tree.js';
export { verifyInclusion, rootFromInclusionProof, decompInclProof } from './verify.js';
