"""The foundation every room shares and that imports none of them: the data types, the error hierarchy,
sentence units and chunk titles."""
