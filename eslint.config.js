import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Type-aware linting over the server, its tests and the dashboard: a floating promise (an async
// call nobody awaits or handles) is an error everywhere, since a rejection there is lost.
export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'web/node_modules/**',
      'web/dist/**',
      'data/**',
      '.tmp/**',
      'dist/**',
      'packages/*/dist/**',
      'coverage/**',
      '**/*.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['test/**/*.ts', '**/*.test.ts', '**/*.test.tsx', 'bench/**/*.ts'],
    // HTTP replies in tests are untyped JSON by nature; production code keeps explicit types.
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
