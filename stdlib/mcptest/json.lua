-- mcptest.json: JSON that keeps [] and {} apart and integers integers.
-- encode(v), decode(s) (raises), try_decode(s) -> v | nil, err (mcptest.Error),
-- array(t) / object(t) to mark a table's JSON type, is_array(v), null.
return require("mcptest.core.json")
