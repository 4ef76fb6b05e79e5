import { Injectable } from '@nestjs/common';
import { type ServiceConfig } from '@app/config';
import { RouteTable } from '../routing/route-table.service.js';
import { RetryBudget } from './retry-budget.js';

/** One retry budget per service (per replica), kept across reloads. */
@Injectable()
export class RetryBudgets {
  private readonly budgets = new Map<string, RetryBudget>();

  constructor(table: RouteTable) {
    table.onChange((next) => {
      for (const name of this.budgets.keys()) if (!next.services.has(name)) this.budgets.delete(name);
      for (const svc of next.services.values())
        this.budgets.get(svc.name)?.update(svc.retry.budget.ratio, svc.retry.budget.minPerSecond);
    });
  }

  for(service: ServiceConfig): RetryBudget {
    let budget = this.budgets.get(service.name);
    if (!budget) {
      budget = new RetryBudget(service.retry.budget.ratio, service.retry.budget.minPerSecond);
      this.budgets.set(service.name, budget);
    }
    return budget;
  }
}
