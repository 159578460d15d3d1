// SPDX-License-Identifier: MIT
// The entry point of the ECharts build that report.html inlines (build-echarts.sh bundles it).
// Only what report.js draws: line, bar, scatter, heatmap and parallel charts on canvas.
import * as echarts from 'echarts/core';
import { LineChart, BarChart, ScatterChart, HeatmapChart, ParallelChart } from 'echarts/charts';
import { TitleComponent, TooltipComponent, GridComponent, LegendComponent,
         LegendScrollComponent, VisualMapComponent, VisualMapContinuousComponent,
         ParallelComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
echarts.use([LineChart, BarChart, ScatterChart, HeatmapChart, ParallelChart, TitleComponent,
             TooltipComponent, GridComponent, LegendComponent, LegendScrollComponent,
             VisualMapComponent, VisualMapContinuousComponent, ParallelComponent,
             CanvasRenderer]);
window.echarts = echarts;
