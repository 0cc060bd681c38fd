/** Real servers and real containers: tests run serially per file on a 2-core machine. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }] },
  testTimeout: 120000,
  maxWorkers: 2,
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
};
