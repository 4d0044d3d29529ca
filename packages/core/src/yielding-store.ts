/**
 * The shape of idb-keyval's `UseStore`, spelled out so core needs no dependency: a store that
 * idb-keyval's `get`/`set`/`entries`... accept as their last argument.
 */
export type IdbStore = <T>(mode: IDBTransactionMode, callback: (store: IDBObjectStore) => T | PromiseLike<T>) => Promise<T>;

/**
 * idb-keyval's createStore, except that the connection yields to another context that wants to
 * delete or upgrade the database (`versionchange`): idb-keyval keeps its connection open for good,
 * so an app's "reset" (`indexedDB.deleteDatabase('edgeinfer-…')`) would stay blocked for as long as
 * the page or worker lives. Every IndexedDB database edgeinfer keeps (model cache, telemetry queue,
 * benchmark winners) is opened through this. The next read or write opens a new connection (to the
 * new, empty database, whose object store it creates).
 */
export function openYieldingStore(databaseName: string, storeName: string): IdbStore {
  let connection: Promise<IDBDatabase> | undefined;
  const open = (): Promise<IDBDatabase> => {
    if (connection) return connection;
    const request = indexedDB.open(databaseName);
    request.onupgradeneeded = () => request.result.createObjectStore(storeName);
    const opened = new Promise<IDBDatabase>((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    connection = opened;
    const forget = () => {
      if (connection === opened) connection = undefined;
    };
    opened.then((db) => {
      db.onversionchange = () => {
        forget();
        db.close();
      };
      // The browser closed it (storage cleared, disk error): reopen on next use.
      db.onclose = forget;
    }, forget);
    return opened;
  };
  return async (mode, callback) => {
    const db = await open();
    let store: IDBObjectStore;
    try {
      store = db.transaction(storeName, mode).objectStore(storeName);
    } catch (error) {
      // Closed between open() and here (a versionchange arrived): one retry on a fresh connection.
      if ((error as DOMException).name !== 'InvalidStateError') throw error;
      connection = undefined;
      store = (await open()).transaction(storeName, mode).objectStore(storeName);
    }
    return callback(store);
  };
}
