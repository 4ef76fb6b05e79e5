import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { readFileSync, type Stats, unwatchFile, watchFile } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, GATEWAY_ENV, type GatewayEnv, parseApiKeysFile } from '@app/config';
import { LOGGER, type Logger } from '@app/logging';
import { type FolderWatch, watchFolders } from '../common/folder-watch.js';
import { KeyMatcher } from './key-matcher.js';

/** Changes to the key file's folder are read after this quiet time (an editor or a Secret update writes in steps). */
export const KEYS_FILE_DEBOUNCE_MS = 100;
/** The backstop: the file (symlinks followed) is also stat-polled this often. */
export const KEYS_FILE_POLL_MS = 1000;

/**
 * The API keys: `API_KEYS` (inline, hashed on load) plus `API_KEYS_FILE` (`name:sha256hex`).
 *
 * The file is re-read when it changes, without a restart. Its folder is watched (a Kubernetes
 * Secret mount swaps a `..data` symlink there: the file's own inode never changes), and the
 * file is stat-polled every {@link KEYS_FILE_POLL_MS} as a backstop (writes through a symlink,
 * file systems without inotify). A file that cannot be read or parsed leaves the current keys
 * in force and is logged (`api_keys_reload` failure, lines named, never shown). At start-up it
 * stops the process.
 */
@Injectable()
export class ApiKeys implements OnModuleInit, OnApplicationShutdown {
  /** Whether any API key is configured (API_KEYS or API_KEYS_FILE). */
  readonly configured: boolean;
  private current: KeyMatcher;
  private fileText: string | null = null;
  private watcher: FolderWatch | null = null;

  constructor(
    @Inject(GATEWAY_ENV) private readonly env: GatewayEnv,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    const { inline, file } = env.apiKeys;
    this.configured = inline.length > 0 || file !== null;
    if (file === null) {
      this.current = KeyMatcher.from(inline, []);
    } else {
      const text = this.read(file);
      this.current = KeyMatcher.from(inline, parseApiKeysFile(text, `API_KEYS_FILE ${file}`));
      this.fileText = text;
    }
  }

  /** The keys in force now. */
  get matcher(): KeyMatcher {
    return this.current;
  }

  onModuleInit(): void {
    const file = this.env.apiKeys.file;
    if (file === null) return;
    try {
      this.watcher = watchFolders([dirname(file)], () => this.reload(), {
        debounceMs: KEYS_FILE_DEBOUNCE_MS,
        onError: (_folder, err) =>
          this.logger.warn({ event: 'api_keys_watch_failed', err: err.message }, 'API_KEYS_FILE watch failed'),
      });
    } catch (err) {
      this.logger.warn(
        { event: 'api_keys_watch_failed', err: (err as Error).message },
        'API_KEYS_FILE folder cannot be watched',
      );
    }
    watchFile(file, { persistent: false, interval: KEYS_FILE_POLL_MS }, this.onStat);
  }

  private readonly onStat = (curr: Stats, prev: Stats): void => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.ino !== prev.ino || curr.size !== prev.size) this.reload('poll');
  };

  onApplicationShutdown(): void {
    this.watcher?.close();
    if (this.env.apiKeys.file !== null) unwatchFile(this.env.apiKeys.file, this.onStat);
  }

  /**
   * Re-reads API_KEYS_FILE now. Returns whether the keys changed; an unreadable or invalid file
   * keeps the current keys and returns false.
   */
  reload(trigger = 'watch'): boolean {
    const file = this.env.apiKeys.file;
    if (file === null) return false;
    let text: string;
    let parsed: ReturnType<typeof parseApiKeysFile>;
    try {
      text = this.read(file);
      if (text === this.fileText) return false;
      parsed = parseApiKeysFile(text, `API_KEYS_FILE ${file}`);
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
      this.logger.warn(
        { event: 'api_keys_reload', result: 'failure', trigger, problems, keys: this.current.size },
        'API_KEYS_FILE refused: the previous keys stay in force',
      );
      return false;
    }
    this.current = KeyMatcher.from(this.env.apiKeys.inline, parsed);
    this.fileText = text;
    this.logger.info(
      {
        event: 'api_keys_reload',
        result: 'success',
        trigger,
        keys: this.current.size,
        names: parsed.map((k) => k.name),
      },
      'API keys reloaded',
    );
    return true;
  }

  private read(file: string): string {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new ConfigError([`API_KEYS_FILE: "${file}" cannot be read (${code})`]);
    }
  }
}
