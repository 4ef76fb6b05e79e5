import { type FSWatcher, watch } from 'node:fs';

/** A debounced watch on folders: see {@link watchFolders}. */
export interface FolderWatch {
  /** Stops watching and drops a pending callback. Idempotent. */
  close(): void;
}

/** Options of {@link watchFolders}. */
export interface FolderWatchOptions {
  /** Quiet time after the last event before `onChange` runs. @default 200 */
  readonly debounceMs?: number;
  /** A folder can no longer be watched (deleted, inotify limit): report it. */
  readonly onError?: (folder: string, err: Error) => void;
}

/**
 * Watches folders (not files) and calls `onChange` once things have been quiet for
 * `debounceMs`. Watching the folder is what survives the ways files get replaced: an editor's
 * write-then-rename (a new inode), a Kubernetes ConfigMap or Secret update (the `..data`
 * symlink is swapped to a new timestamped folder), cert-manager rotating a Secret. The
 * callback decides what changed (content hashes); events carry no promise about which file.
 * Never keeps the process alive.
 *
 * @throws when a folder cannot be watched at all (missing, not a folder)
 * @example const w = watchFolders(['/etc/breakwater'], () => reloader.check()); … w.close();
 */
export function watchFolders(
  folders: readonly string[],
  onChange: () => void,
  options: FolderWatchOptions = {},
): FolderWatch {
  const debounceMs = options.debounceMs ?? 200;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const watchers: FSWatcher[] = [];
  const fire = (): void => {
    timer = null;
    if (!closed) onChange();
  };
  const onEvent = (): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(fire, debounceMs);
    timer.unref();
  };
  const close = (): void => {
    closed = true;
    if (timer) clearTimeout(timer);
    timer = null;
    for (const w of watchers.splice(0)) w.close();
  };
  try {
    for (const folder of new Set(folders)) {
      const w = watch(folder, { persistent: false }, onEvent);
      w.on('error', (err) => {
        w.close();
        options.onError?.(folder, err);
      });
      watchers.push(w);
    }
  } catch (err) {
    close();
    throw err;
  }
  return { close };
}
