-- Why a run could see no organisation: whether row-level security filters
-- public.organizations for the connected role (it does unless the role owns
-- the table or has BYPASSRLS), and which role that is.
select row_security_active('public.organizations') as filtered, current_user as role
