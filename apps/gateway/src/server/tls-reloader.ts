import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createSecureContext, type Server as TlsServer } from 'node:tls';
import { type Logger } from '@app/logging';
import { type FolderWatch, watchFolders } from '../common/folder-watch.js';

/** TLS_CERT_FILE / TLS_KEY_FILE as libs/config gives them. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** A certificate chain and its private key (PEM). */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * Reads the certificate and key and checks that they make a usable pair (PEM that parses, a
 * key that matches the certificate).
 * @throws {Error} naming the variable (`TLS_CERT_FILE: "…": …`) whose file is missing, unreadable or invalid
 */
export function loadTlsMaterial(files: TlsFiles): TlsMaterial {
  const cert = readNamed('TLS_CERT_FILE', files.certFile);
  const key = readNamed('TLS_KEY_FILE', files.keyFile);
  try {
    new X509Certificate(cert);
  } catch (err) {
    throw new Error(`TLS_CERT_FILE: "${files.certFile}": not a PEM certificate (${(err as Error).message})`, {
      cause: err,
    });
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new Error(
      `TLS_KEY_FILE: "${files.keyFile}": not a private key matching TLS_CERT_FILE (${(err as Error).message})`,
      { cause: err },
    );
  }
  return { cert, key };
}

function readNamed(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      `${variable}: "${path}": ${code === 'ENOENT' ? 'file does not exist' : `cannot be read (${code})`}`,
      { cause: err },
    );
  }
}

/** SHA-256 fingerprint of the leaf certificate, as `openssl x509 -fingerprint -sha256` prints it. */
export function certFingerprint(cert: Buffer): string {
  return new X509Certificate(cert).fingerprint256;
}

/**
 * Re-reads the certificate and key when their folders change (cert-manager renews a Secret by
 * swapping the mount's `..data` symlink; a plain file copy works too) and installs a valid new
 * pair with `server.setSecureContext()`: new connections get the new certificate, open ones
 * keep theirs and are not dropped. A pair that does not load (half-written, key and
 * certificate not matching) is refused and logged; the previous one stays until a valid pair
 * appears. Returns the watch to close on shutdown.
 */
export function watchTlsFiles(server: TlsServer, files: TlsFiles, initial: TlsMaterial, logger: Logger): FolderWatch {
  /** Digest of the pair last looked at (applied or refused): an unchanged pair is not tried again. */
  let seen = digest(initial);
  const check = (): void => {
    let material: TlsMaterial;
    try {
      const next = digest({ cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) });
      if (next === seen) return;
      seen = next;
      material = loadTlsMaterial(files);
      seen = digest(material);
      server.setSecureContext({ cert: material.cert, key: material.key });
    } catch (err) {
      logger.warn(
        { event: 'tls_reload_failed', err: (err as Error).message },
        'new TLS certificate refused: the previous one stays in use',
      );
      return;
    }
    const x509 = new X509Certificate(material.cert);
    logger.info(
      { event: 'tls_reloaded', fingerprint256: x509.fingerprint256, subject: x509.subject, validTo: x509.validTo },
      'TLS certificate reloaded',
    );
  };
  const folders = [dirname(resolve(files.certFile)), dirname(resolve(files.keyFile))];
  return watchFolders(folders, check, {
    onError: (folder, err) =>
      logger.warn({ event: 'tls_watch_failed', folder, err: err.message }, 'TLS files no longer watched'),
  });
}

function digest(m: TlsMaterial): string {
  return createHash('sha256').update(m.cert).update('\0').update(m.key).digest('hex');
}
