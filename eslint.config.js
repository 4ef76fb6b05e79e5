// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test-artifacts/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Nest reads constructor parameter types at run time (emitDecoratorMetadata): a rule that
      // turns them into type-only imports would break injection, so `import { type X }` is by hand.
      '@typescript-eslint/consistent-type-imports': 'off',
    },
  },
  {
    files: ['**/*.ts'],
    // TypeScript checks names itself (typescript-eslint's advice).
    rules: { 'no-undef': 'off' },
  },
  {
    files: ['apps/gateway/src/dashboard/public/**/*.js', '**/*.browser.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
