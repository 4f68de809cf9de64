"""The median of each summed question's numbers, read off the answers' index in order.

Counts, sums, minimums and maximums of parts add up (see
:class:`~survey_app.results.counting.Numbers`), medians do not, so they are
found over the whole selection of responses each time. Knowing how many
numbers a question has (``n``, from the counts), its median is the middle
number, or the mean of the two middle ones: the numbers at (1-based)
positions (n+1)//2 and n//2 + 1 in order. The covering index
``ix_answers_counting`` (survey, question, code, item, number, ...) holds a
question's numbers in order, so SQLite steps through half of them,
skipping those of responses not selected, and sorts nothing (``+ 0`` keeps
it from finding the answers through the selected responses instead); one
statement finds every question's, selecting the responses once.
PostgreSQL, which would hash the selected responses once per statement,
finds every question's median in one: ``percentile_cont(0.5)`` is that same
middle number or mean of the two.
"""
from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, Select, func, literal, select, union_all

from survey_app.models import Answer


def medians(connection: Connection, survey_id: int, numbers: Mapping[str, int], passing: Select) -> dict[str, float]:
    """The median of the numbers given to each question by the responses ``passing`` selects.

    ``numbers`` maps each question id to how many numbers those responses gave
    it (questions with none are left out); ``passing`` has the column ``id``.
    Run it in the snapshot the numbers were counted in.
    """
    asked = {question_id: n for question_id, n in numbers.items() if n}
    if not asked:
        return {}
    # Materialized: the responses are selected once (SQLite looks each number's response up in them; PostgreSQL's
    # planner, misjudging how many numbers there are, would otherwise look each one up in the responses table).
    selected = passing.cte("p").prefix_with("MATERIALIZED")
    answer = Answer.__table__.alias("a")
    numbers_of = [answer.c.survey_id == survey_id, answer.c.code.is_(None), answer.c.item == "",
                  answer.c.number.is_not(None)]
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            select(answer.c.question_id, func.percentile_cont(0.5).within_group(answer.c.number))
            .select_from(answer.join(selected, selected.c.id == answer.c.response_id))
            .where(answer.c.question_id.in_(list(asked)), *numbers_of).group_by(answer.c.question_id))
        return {question_id: float(median) for question_id, median in rows}
    middles = []
    for question_id, n in asked.items():
        middle = (select(answer.c.number)
                  .where(answer.c.question_id == question_id, *numbers_of,
                         (answer.c.response_id + 0).in_(select(selected.c.id)))  # + 0: not by response
                  .order_by(answer.c.number).offset((n + 1) // 2 - 1).limit(2 - n % 2).subquery())
        middles.append(select(literal(question_id).label("question_id"), func.avg(middle.c.number)))
    return {question_id: float(median) for question_id, median in connection.execute(union_all(*middles))}
