-- As the Supabase CLI does between files: undo session settings an earlier
-- file may have changed (e.g. set_config('search_path', '', false)).
reset all
