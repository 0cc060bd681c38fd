import { runStorageSuite, sqliteFixture } from './storage';

runStorageSuite('sqlite', sqliteFixture());
