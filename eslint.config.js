// The lint gate (run by `npm run lint` and by .ci/run before the tests).
// typescript-eslint's recommended rules without type information (fast on two
// cores), plus the one architectural rule: the SDK (src/) never imports the
// gateway or the CLI.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'artifacts/**', 'cache/**', 'web/vendor/**', '.liuhen/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: globals.node },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Control characters in a regex are how we refuse them (officer names, headers).
      'no-control-regex': 'off',
      // Binary encoders advance an offset after the last write on purpose (o += n): the pattern stays uniform.
      'no-useless-assignment': 'off',
      // Async generators cannot be arrow functions: `self` is how they reach the instance.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
    },
  },
  {
    // The pages: plain ES modules and workers in the browser, no build step.
    files: ['web/**/*.js'],
    languageOptions: { globals: { ...globals.browser, ...globals.worker } },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests poke at hostile and malformed values on purpose.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/gateway/**', '**/cli/**', 'express', 'hardhat', 'hardhat/**'],
              message: 'src/ is the SDK: it never imports the gateway, the CLI, Express or Hardhat.',
            },
          ],
        },
      ],
    },
  },
);
