// The Historical Data page: composes the feature's form, results, saved queries and compare.
import { useCallback, useEffect, useMemo, useState } from 'react';

import { useNotify } from '@/components/ui/notifications';
import { TabPanel, Tabs } from '@/components/ui/tabs';
import type { SavedQuery } from '@/lib/api-types';
import { formatCount, formatDuration } from '@/lib/format';
import { ApiTokenControl } from '@/features/auth/components/api-token-control';
import { TokenRequiredBanner } from '@/features/auth/components/token-required-banner';
import { ComparePanel } from '@/features/historical-data/components/compare-panel';
import { ConnectionIndicator } from '@/features/historical-data/components/connection-indicator';
import { ExportControl } from '@/features/historical-data/components/export-control';
import { QueryForm } from '@/features/historical-data/components/query-form';
import { ResultsPanel } from '@/features/historical-data/components/results-panel';
import { RunProgress } from '@/features/historical-data/components/run-progress';
import { SaveQueryForm, type Editing } from '@/features/historical-data/components/save-query-form';
import { SavedQueriesPanel } from '@/features/historical-data/components/saved-queries-panel';
import { useQueryRun, type RunState } from '@/features/historical-data/hooks/use-query-run';
import type { RunSource } from '@/features/historical-data/api/fetch-bars';
import {
  DEFAULT_VALUES,
  fromFetchRequest,
  toFetchRequest,
  validate,
  type QueryFormValues,
} from '@/features/historical-data/lib/query-params';
import type { FetchRequest, FetchResponse } from '@/lib/api-types';

type TabKey = 'new' | 'saved';

function tabFromHash(): TabKey {
  return typeof window !== 'undefined' && window.location.hash === '#saved' ? 'saved' : 'new';
}

export function HistoricalDataPage() {
  const [tab, setTab] = useState<TabKey>(tabFromHash);
  const [values, setValues] = useState<QueryFormValues>(DEFAULT_VALUES);
  const [editing, setEditing] = useState<Editing | null>(null);
  const [shown, setShown] = useState<{ result: FetchResponse; request: FetchRequest } | null>(null);
  const { state, run, cancel } = useQueryRun();
  const notify = useNotify();

  useEffect(() => {
    const onHash = () => setTab(tabFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const changeTab = (t: TabKey) => {
    setTab(t);
    window.history.replaceState(null, '', t === 'saved' ? '#saved' : window.location.pathname + window.location.search);
  };

  const currentRequest = useMemo(() => (Object.keys(validate(values)).length === 0 ? toFetchRequest(values) : undefined), [values]);

  const start = useCallback(
    async (source: RunSource, label: string) => {
      const end: RunState = await run(source);
      if (end.status === 'success') {
        setShown({ result: end.result, request: end.request });
        notify({ kind: 'success', title: `${label}: ${formatCount(end.result.metadata.total_bars)} bars`, message: `in ${formatDuration(end.elapsedMs)}` });
      } else if (end.status === 'error') {
        notify({ kind: 'error', title: `${label} failed`, message: end.error.message });
      } else if (end.status === 'cancelled') {
        notify({ kind: 'info', title: 'Query cancelled', message: `after ${formatDuration(end.elapsedMs)}` });
      }
    },
    [run, notify],
  );

  const onRun = (v: QueryFormValues) => {
    const request = toFetchRequest(v);
    void start({ kind: 'request', request }, request.symbols.join(', '));
  };
  const onRunSaved = (q: SavedQuery) => {
    setValues(fromFetchRequest(q.parameters));
    changeTab('new');
    void start({ kind: 'saved', id: q.id, request: q.parameters }, q.name);
  };
  const onEditSaved = (q: SavedQuery) => {
    setValues(fromFetchRequest(q.parameters));
    setEditing({ id: q.id, name: q.name, description: q.description });
    changeTab('new');
  };

  return (
    <div className="page">
      <header className="page__header">
        <h1>Historical Data</h1>
        <Tabs
          label="Historical data views"
          idPrefix="hd"
          active={tab}
          onChange={changeTab}
          tabs={[
            { key: 'new', label: 'New Query' },
            { key: 'saved', label: 'Saved Queries' },
          ]}
        />
        <div className="page__header-end">
          <ConnectionIndicator />
          <ApiTokenControl />
          <a href="/api/docs/" className="muted">
            API docs
          </a>
        </div>
      </header>
      <TokenRequiredBanner />
      <TabPanel idPrefix="hd" tabKey="new" active={tab === 'new'}>
        <QueryForm values={values} onChange={setValues} onRun={onRun} onCancel={cancel} running={state.status === 'running'} />
        <div className="toolbar">
          <SaveQueryForm request={currentRequest} editing={editing} onSaved={(q) => editing && setEditing({ id: q.id, name: q.name, description: q.description })} onStopEditing={() => setEditing(null)} />
          <ExportControl request={shown?.request ?? currentRequest} />
        </div>
        <RunProgress state={state} />
        {shown ? <ResultsPanel result={shown.result} request={shown.request} stale={state.status === 'running'} /> : <div className="results-placeholder" />}
        <ComparePanel base={currentRequest} />
      </TabPanel>
      <TabPanel idPrefix="hd" tabKey="saved" active={tab === 'saved'}>
        <SavedQueriesPanel onRun={onRunSaved} onEdit={onEditSaved} />
      </TabPanel>
    </div>
  );
}
