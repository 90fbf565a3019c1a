/** Directories named on the command line, as VFS roots. */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { NodeVfs } from '../vfs/node-vfs.js';

/** An existing directory. */
export function existingDir(path: string): NodeVfs {
  if (!existsSync(path)) throw new NotFoundError(path, 'directory');
  if (!statSync(path).isDirectory()) throw new InvalidArgumentError(`${path} is not a directory`);
  return new NodeVfs(path);
}

/** A directory to create (or an empty one). */
export function emptyDir(path: string): NodeVfs {
  mkdirSync(path, { recursive: true });
  if (readdirSync(path).length > 0) throw new InvalidArgumentError(`${path} must be empty (or not exist yet)`);
  return new NodeVfs(path);
}
