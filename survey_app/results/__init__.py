"""Survey results: counting in SQL (``queries``), statistics (``stats``), the result objects
(``tables``) and the results page (``views``)."""
