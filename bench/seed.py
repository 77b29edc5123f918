# Seed the bench user with 200 tasks of 3 subtasks each (run through `manage.py shell`).
from accounts.models import User
from tasks.models import Subtask, Task

user = User.objects.get(email="bench@example.com")
if not Task.objects.filter(user=user).exists():
    tasks = Task.objects.bulk_create(
        [Task(user=user, title=f"Task {i}", description="seeded", archived=i % 2 == 0) for i in range(200)]
    )
    Subtask.objects.bulk_create([Subtask(task=t, title=f"Step {j}", order_index=j) for t in tasks for j in range(3)])
