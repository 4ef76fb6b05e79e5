// Jest in native ESM mode (NestJS 12 is ESM-only): ts-jest transpiles each file in
// isolation (fast); type checking is `npm run typecheck`, part of `npm run lint`.
/** @type {import('jest').Config} */
const base = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^@app/(config|logging|redis)$': '<rootDir>/libs/$1/src/index.ts',
    '^@app/(config|logging|redis)/(.*)$': '<rootDir>/libs/$1/src/$2',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }],
  },
  testEnvironment: 'node',
};
export default {
  // e2e tests start real processes; on 2 shared cores a start can take seconds.
  testTimeout: 30000,
  projects: [
    {
      ...base,
      displayName: 'unit',
      rootDir: '.',
      testMatch: ['<rootDir>/apps/**/*.spec.ts', '<rootDir>/libs/**/*.spec.ts'],
    },
    { ...base, displayName: 'e2e', rootDir: '.', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
  ],
};
