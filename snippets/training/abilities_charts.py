# The same measurements, scored two ways: all or nothing, and token by token.
from guide import ChartRow, LineChart

ChartRow(
    LineChart({labels[n]: (steps, exact[n]) for n in labels}, title="Exact match",
              x_label="training step", y_label="share right", width=400, height=300, legend="bottom right"),
    LineChart({labels[n]: (steps, partial[n]) for n in labels}, title="Partial credit",
              x_label="training step", y_label="share right", width=400, height=300, legend="bottom right"),
)
