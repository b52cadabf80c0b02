-- The error registry as clients read it.

create view api.error_codes as
select e.sqlstate, e.name, e.http_status, e.meaning
from core.error_codes e
order by e.sqlstate;
comment on view api.error_codes is 'Every hotelcore SQLSTATE (class HC) with its name, HTTP status and meaning.';
comment on column api.error_codes.sqlstate is 'The SQLSTATE raised (class HC).';
comment on column api.error_codes.name is 'The seed''s error name; also the exception message.';
comment on column api.error_codes.http_status is 'The HTTP status the API answers with.';
comment on column api.error_codes.meaning is 'When it is raised.';
