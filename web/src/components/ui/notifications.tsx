import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from 'react';

export type NotificationKind = 'success' | 'error' | 'info';

export interface Notification {
  id: number;
  kind: NotificationKind;
  title: string;
  message?: string | undefined;
}

type Notify = (n: Omit<Notification, 'id'>) => void;

const NotifyContext = createContext<Notify | null>(null);

const TIMEOUT_MS: Record<NotificationKind, number> = { success: 5000, info: 5000, error: 10000 };

/** Toasts for completions and errors; errors are announced assertively, the rest politely. */
export function NotificationsProvider({ children }: { children: ReactNode }) {
  const [items, setItems] = useState<Notification[]>([]);
  const next = useRef(1);
  const dismiss = useCallback((id: number) => setItems((xs) => xs.filter((x) => x.id !== id)), []);
  const notify = useCallback<Notify>(
    (n) => {
      const id = next.current++;
      setItems((xs) => [...xs.slice(-4), { ...n, id }]);
      setTimeout(() => dismiss(id), TIMEOUT_MS[n.kind]);
    },
    [dismiss],
  );
  const value = useMemo(() => notify, [notify]);
  return (
    <NotifyContext.Provider value={value}>
      {children}
      <div className="toasts" aria-label="Notifications">
        <div role="status" aria-live="polite">
          {items
            .filter((n) => n.kind !== 'error')
            .map((n) => (
              <Toast key={n.id} n={n} onDismiss={dismiss} />
            ))}
        </div>
        <div role="alert" aria-live="assertive">
          {items
            .filter((n) => n.kind === 'error')
            .map((n) => (
              <Toast key={n.id} n={n} onDismiss={dismiss} />
            ))}
        </div>
      </div>
    </NotifyContext.Provider>
  );
}

function Toast({ n, onDismiss }: { n: Notification; onDismiss: (id: number) => void }) {
  return (
    <div className={`toast toast--${n.kind}`}>
      <div>
        <strong>{n.title}</strong>
        {n.message ? <p>{n.message}</p> : null}
      </div>
      <button type="button" className="toast__close" aria-label="Dismiss notification" onClick={() => onDismiss(n.id)}>
        ×
      </button>
    </div>
  );
}

export function useNotify(): Notify {
  const notify = useContext(NotifyContext);
  if (!notify) throw new Error('useNotify needs a NotificationsProvider');
  return notify;
}
