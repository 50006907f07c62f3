from django.core.management.base import BaseCommand
from django.urls import reverse

from apps.core.demo import seed_demo
from apps.core.demo_compare import BUDGET, SEEDS, STRATEGIES, demo_comparison_launch


class Command(BaseCommand):
    help = (
        "Queue the demo comparison: uniform against stat_sel over 3 seeds on a project where "
        "carrying and borrowing are rare in training (idempotent; the demo's worker runs it). "
        "Six runs of 3,000 training steps each, queued seed by seed; the demo's worker trains "
        "two at a time (about 3 minutes a pair on 2 CPU cores)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"],
                            help="where the runs train (default cpu)")

    def handle(self, *args, device: str = "cpu", **options):
        demo = seed_demo()
        team = demo.project.team
        user = demo.project.created_by
        result = demo_comparison_launch(user=user, team=team, device=device)
        self.stdout.write(
            f"project {result.project.name!r} (id {result.project.pk}): "
            f"{len(STRATEGIES)} strategies x {len(SEEDS)} seeds, {BUDGET['rounds']} rounds "
            f"of {BUDGET['steps_per_round']} steps; {len(result.launched)} run(s) launched, "
            f"{len(result.runs) - len(result.launched)} already there"
        )
        self.stdout.write(
            f"comparison {result.comparison.name!r}: "
            f"{reverse('compare:comparison-detail', args=[result.comparison.pk])} "
            "(it fills in as the runs finish; the run list shows their progress)"
        )
