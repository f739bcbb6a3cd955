// Type-aware lint rules for the whole monorepo (see ../shared/CONVENTIONS.md).
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

export default tseslint.config(
  { ignores: ['node_modules/**', '.stack/**', '.tools/**', '**/dist/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver()] },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      'import-x/no-cycle': 'error',
      // Every import is declared by the package.json nearest the importing file.
      'import-x/no-extraneous-dependencies': ['error', { includeTypes: true }],
      'no-restricted-imports': ['error', { patterns: [{ group: ['@clickstream/*/src/*'], message: 'Import the package by name.' }] }],
    },
  },
  { files: ['eslint.config.js', 'scripts/*.mjs'], ...tseslint.configs.disableTypeChecked },
  // Browser modules served as they are (the dashboard page): linted without Node type information.
  { files: ['services/*/public/**/*.js'], ...tseslint.configs.disableTypeChecked },
);
